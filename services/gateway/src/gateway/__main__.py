"""`python -m gateway`: read the environment, serve until SIGTERM or SIGINT, drain, exit."""

from __future__ import annotations

import logging
import os
import sys

from aiohttp import web

from . import config, logs
from .access_log import AccessLogger
from .app import create_app


def main() -> int:
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in logs.LEVELS:
        print(f"gateway: LOG_LEVEL must be one of {', '.join(logs.LEVELS)} (got {level!r})",
              file=sys.stderr)
        return 2
    logs.configure(level)
    try:
        settings = config.from_env()
    except config.ConfigError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("gateway").info("listening", extra={"fields": {
        "address": f"{settings.host}:{settings.port}", "backend": settings.backend_addr,
        "tls": settings.backend_tls_ca is not None}})
    # run_app turns SIGTERM into a graceful stop: stop accepting, let in-flight requests
    # finish for up to shutdown_timeout, then run cleanup (which closes the gRPC channel).
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                shutdown_timeout=settings.shutdown_timeout_s, access_log_class=AccessLogger,
                print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
