"""The PasswordStrength gRPC methods: validate, score, map errors to status codes.

Handlers are registered by hand rather than with the generated `add_..._to_server` so that a
request protobuf refuses to parse (non-UTF-8 in a `string` field) becomes INVALID_ARGUMENT
with a clear message instead of grpc's generic "Exception deserializing request" (INTERNAL).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from password_strength import limits, settings
from password_strength.estimator import Estimate, Estimator
from password_strength.model import Model

SERVICE_NAME = "passwordstrength.v1.PasswordStrength"
log = logging.getLogger(__name__)


class _Unparseable:
    """Stands in for a request whose bytes are not a valid message."""


UNPARSEABLE = _Unparseable()
UNPARSEABLE_MESSAGE = ("request is not a valid protobuf message; password and user_inputs "
                       "must be valid UTF-8 strings")


def info(config: settings.Settings, model: Model) -> dict[str, Any]:
    """What GetMetadata answers: the model's hash and the training data's versions."""
    data = model.meta.get("data", {})
    return {"model_sha256": model.sha256,
            "training_data": {str(k): str(v) for k, v in (data or {}).items()},
            "max_in_flight": config.max_in_flight}


class PasswordStrengthService:
    def __init__(self, estimator: Estimator, pb2: ModuleType,
                 metadata: Mapping[str, Any] | None = None) -> None:
        self.estimator = estimator
        self.pb2 = pb2
        self.metadata = pb2.Metadata(**(metadata or {}))

    def GetMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return self.metadata

    def Evaluate(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        _reject_unparseable(request, context)
        try:
            limits.check_password(request.password)
            limits.check_user_inputs(list(request.user_inputs))
        except limits.InvalidInput as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return self._response(self.estimator.evaluate(request.password, request.user_inputs))

    def EvaluateBatch(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        _reject_unparseable(request, context)
        passwords = list(request.passwords)
        user_inputs = list(request.user_inputs)
        try:
            limits.check_batch_size(len(passwords))
            limits.check_user_inputs(user_inputs)
            for i, password in enumerate(passwords):
                limits.check_password(password, where=f"passwords[{i}]")
        except limits.InvalidInput as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        results = [self._response(self.estimator.evaluate(p, user_inputs)) for p in passwords]
        return self.pb2.EvaluateBatchResponse(results=results)

    def _response(self, estimate: Estimate) -> Any:
        pb2 = self.pb2
        return pb2.EvaluateResponse(
            score=estimate.score,
            log10_guesses=estimate.log10_guesses,
            crack_time_display=estimate.crack_time_display,
            crack_time_seconds=estimate.crack_time_seconds,
            feedback=pb2.Feedback(warning=estimate.feedback.warning,
                                  suggestions=list(estimate.feedback.suggestions)),
        )


def handler(service: PasswordStrengthService) -> grpc.GenericRpcHandler:
    pb2 = service.pb2
    methods = {
        "Evaluate": grpc.unary_unary_rpc_method_handler(
            _logged("Evaluate", service.Evaluate),
            request_deserializer=_tolerant(pb2.EvaluateRequest),
            response_serializer=pb2.EvaluateResponse.SerializeToString),
        "EvaluateBatch": grpc.unary_unary_rpc_method_handler(
            _logged("EvaluateBatch", service.EvaluateBatch),
            request_deserializer=_tolerant(pb2.EvaluateBatchRequest),
            response_serializer=pb2.EvaluateBatchResponse.SerializeToString),
        "GetMetadata": grpc.unary_unary_rpc_method_handler(
            _logged("GetMetadata", service.GetMetadata),
            request_deserializer=pb2.GetMetadataRequest.FromString,
            response_serializer=pb2.Metadata.SerializeToString),
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, methods)


Method = Callable[[Any, grpc.ServicerContext], Any]


def _logged(name: str, method: Method) -> Method:
    """One JSON line per call at DEBUG: method, status, milliseconds, and the number of
    passwords; never a password, a prefix of one, or a user input."""
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        if not log.isEnabledFor(logging.DEBUG):
            return method(request, context)
        started = time.perf_counter()
        code = "OK"
        try:
            return method(request, context)
        except Exception:
            code = (context.code() or grpc.StatusCode.UNKNOWN).name  # type: ignore[attr-defined]
            raise
        finally:
            log.debug("request", extra={"fields": {
                "method": name, "code": code,
                "ms": round((time.perf_counter() - started) * 1e3, 3),
                "passwords": _count(request)}})
    return call


def _count(request: Any) -> int:
    if request is UNPARSEABLE:
        return 0
    passwords = getattr(request, "passwords", None)
    return len(passwords) if passwords is not None else int(hasattr(request, "password"))


def _tolerant(message: Any) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return message.FromString(data)
        except DecodeError:
            return UNPARSEABLE
    return parse


def _reject_unparseable(request: Any, context: grpc.ServicerContext) -> None:
    if request is UNPARSEABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, UNPARSEABLE_MESSAGE)
