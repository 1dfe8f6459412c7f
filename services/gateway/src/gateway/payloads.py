"""JSON bodies in and out: strict parsing (wrong shape → 400) and rendering of results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .stubs import pb2

MAX_BATCH = 1000  # the backend's limit, checked here too so the client gets a clear 400


@dataclass(frozen=True)
class EvaluateInput:
    password: str
    user_inputs: tuple[str, ...]


@dataclass(frozen=True)
class BatchInput:
    passwords: tuple[str, ...]
    user_inputs: tuple[str, ...]


def parse_evaluate(raw: bytes) -> EvaluateInput:
    body = _object(raw, allowed={"password", "user_inputs"})
    return EvaluateInput(_string(body, "password"), _strings(body, "user_inputs", required=False))


def parse_batch(raw: bytes) -> BatchInput:
    body = _object(raw, allowed={"passwords", "user_inputs"})
    passwords = _strings(body, "passwords", required=True)
    if not passwords:
        raise _bad("'passwords' must hold at least one password")
    if len(passwords) > MAX_BATCH:
        raise _bad(f"'passwords' holds {len(passwords)} items; at most {MAX_BATCH} per batch")
    return BatchInput(passwords, _strings(body, "user_inputs", required=False))


def render_result(result: pb2.EvaluateResponse) -> dict[str, Any]:
    return {
        "score": result.score,
        "log10_guesses": round(result.log10_guesses, 4),
        "crack_time": {"display": result.crack_time_display,
                       "seconds": result.crack_time_seconds},
        "feedback": {"warning": result.feedback.warning,
                     "suggestions": list(result.feedback.suggestions)},
    }


def render_batch(answer: pb2.EvaluateBatchResponse) -> dict[str, Any]:
    return {"results": [render_result(result) for result in answer.results]}


def _object(raw: bytes, allowed: set[str]) -> Mapping[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        # The decoder's message may quote the body, which holds a password: keep it out.
        raise _bad("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _bad(f"unknown field(s): {', '.join(unknown)}")
    return body


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise _bad(f"'{key}' must be a string")
    return value


def _strings(body: Mapping[str, Any], key: str, *, required: bool) -> tuple[str, ...]:
    if key not in body and not required:
        return ()
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(f"'{key}' must be a list of strings")
    return tuple(value)


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_request", message)
