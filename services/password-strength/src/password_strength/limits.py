"""What the service accepts, in one place: the gRPC layer and the scorer share these rules."""

from __future__ import annotations

MAX_PASSWORD_CHARS = 256
MAX_BATCH = 1000
MAX_USER_INPUTS = 100
MAX_USER_INPUT_CHARS = 256
# zxcvbn's matchers are super-linear in length; it only ever sees this many characters.
ZXCVBN_MAX_CHARS = 72


class InvalidInput(ValueError):
    """The request is malformed; the message is safe to return (it never echoes a password)."""


def check_password(password: str, where: str = "password") -> None:
    if not password:
        raise InvalidInput(f"{where} must not be empty")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"{where} is {len(password)} characters; at most {MAX_PASSWORD_CHARS} are accepted")
    if not is_encodable(password):
        raise InvalidInput(f"{where} is not valid UTF-8 (it contains a lone surrogate)")


def check_user_inputs(user_inputs: list[str]) -> None:
    if len(user_inputs) > MAX_USER_INPUTS:
        raise InvalidInput(f"at most {MAX_USER_INPUTS} user_inputs are accepted")
    for i, value in enumerate(user_inputs):
        if len(value) > MAX_USER_INPUT_CHARS:
            raise InvalidInput(f"user_inputs[{i}] is longer than {MAX_USER_INPUT_CHARS} characters")
        if not is_encodable(value):
            raise InvalidInput(f"user_inputs[{i}] is not valid UTF-8")


def check_batch_size(count: int) -> None:
    if count == 0:
        raise InvalidInput("passwords must not be empty")
    if count > MAX_BATCH:
        raise InvalidInput(f"batch has {count} passwords; at most {MAX_BATCH} are accepted")


def is_encodable(text: str) -> bool:
    # Python strings can hold lone surrogates (e.g. from surrogateescape); UTF-8 cannot.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
