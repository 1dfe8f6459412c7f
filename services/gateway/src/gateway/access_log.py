"""An access log line per request at DEBUG, as JSON, without query strings or bodies: a client
that puts a password in the URL must not get it written to our logs."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        self.logger.debug("request", extra={"fields": {
            "remote": request.remote, "method": request.method, "path": request.path,
            "status": response.status, "ms": round(time * 1000, 1)}})

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.DEBUG)
