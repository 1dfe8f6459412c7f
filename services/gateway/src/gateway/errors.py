"""The one error type handlers raise, and how backend (gRPC) failures map onto HTTP."""

from __future__ import annotations

import grpc


class ApiError(Exception):
    """Becomes `{"error": {"code": code, "message": message}}` with HTTP `status`."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# The backend sheds load with RESOURCE_EXHAUSTED the moment its in-flight bound is reached, so
# a retry a second later usually finds room (on this or another replica).
RETRY_AFTER_S = 1

# Codes whose meaning is "try again later": the client did nothing wrong.
_UNAVAILABLE = {grpc.StatusCode.UNAVAILABLE: "backend_unavailable",
                grpc.StatusCode.DEADLINE_EXCEEDED: "backend_timeout",
                grpc.StatusCode.RESOURCE_EXHAUSTED: "backend_overloaded"}


def from_rpc_error(exc: grpc.aio.AioRpcError) -> ApiError:
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        # The backend's message describes the input (length, index), never echoes a password.
        return ApiError(400, "invalid_argument", exc.details() or "invalid argument")
    if code in _UNAVAILABLE:
        return ApiError(503, _UNAVAILABLE[code],
                        f"password-strength did not answer ({code.name.lower()})",
                        headers={"Retry-After": str(RETRY_AFTER_S)})
    return ApiError(502, "backend_error", f"password-strength failed ({code.name.lower()})")
