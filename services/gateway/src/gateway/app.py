"""The aiohttp application: routes, the JSON error boundary and the backend's lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from . import payloads
from .backend import Backend
from .config import Settings
from .errors import ApiError

MAX_BODY = 64 * 1024

BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)
log = logging.getLogger("gateway")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app.cleanup_ctx.append(_backend_context(settings))
    app.router.add_post("/v1/password-strength", evaluate)
    app.router.add_post("/v1/password-strength:batch", evaluate_batch)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def _backend_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    async def backend_context(app: web.Application) -> AsyncIterator[None]:
        # Opened inside the server's event loop: grpc.aio channels are bound to one loop.
        app[BACKEND] = Backend(settings)
        yield
        await app[BACKEND].close()
    return backend_context


async def evaluate(request: web.Request) -> web.Response:
    body = payloads.parse_evaluate(await _read_body(request))
    result = await request.app[BACKEND].evaluate(body.password, body.user_inputs)
    return web.json_response(payloads.render_result(result))


async def evaluate_batch(request: web.Request) -> web.Response:
    body = payloads.parse_batch(await _read_body(request))
    answer = await request.app[BACKEND].evaluate_batch(body.passwords, body.user_inputs)
    return web.json_response(payloads.render_batch(answer))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if await request.app[BACKEND].is_serving():
        return web.json_response({"status": "ready"})
    raise ApiError(503, "not_ready", "password-strength is not serving")


async def _read_body(request: web.Request) -> bytes:
    # Refuse a declared oversize body before reading any of it; read() enforces the same
    # limit (client_max_size) for chunked bodies.
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_large()
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is over {MAX_BODY // 1024} KiB")


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as `{"error": {"code", "message"}}`; request bodies are never logged."""
    try:
        return await handler(request)
    except ApiError as exc:
        if exc.status >= 500:
            log.warning("backend failure", extra={"fields": {
                "method": request.method, "path": request.path, "code": exc.code,
                "detail": exc.message}})
        return _error(exc.status, exc.code, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = _error(exc.status, code, exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("%s %s: unexpected error", request.method, request.path)
        return _error(500, "internal", "internal error")


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             headers=headers)
