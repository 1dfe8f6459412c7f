"""`python -m gateway`: read the environment, serve until SIGTERM or SIGINT, drain, exit."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from . import config
from .access_log import AccessLogger
from .app import create_app


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = config.from_env()
    except config.ConfigError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("gateway").info(
        "listening on %s:%d, password-strength at %s (%s)", settings.host, settings.port,
        settings.backend_addr, "tls" if settings.backend_tls_ca else "plaintext")
    # run_app turns SIGTERM into a graceful stop: stop accepting, let in-flight requests
    # finish for up to shutdown_timeout, then run cleanup (which closes the gRPC channel).
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                shutdown_timeout=settings.shutdown_timeout_s, access_log_class=AccessLogger,
                print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
