import pytest

from password_strength import limits


@pytest.mark.parametrize("password", ["a", "x" * limits.MAX_PASSWORD_CHARS, "pässwörd €"])
def test_accepts_reasonable_passwords(password: str) -> None:
    limits.check_password(password)


@pytest.mark.parametrize(("password", "message"), [
    ("", "must not be empty"),
    ("x" * (limits.MAX_PASSWORD_CHARS + 1), "at most 256"),
    ("bad\udcffbyte", "not valid UTF-8"),
])
def test_rejects_bad_passwords_without_echoing_them(password: str, message: str) -> None:
    with pytest.raises(limits.InvalidInput, match=message) as caught:
        limits.check_password(password)
    assert password[:5] not in str(caught.value) or not password


def test_batch_bounds() -> None:
    limits.check_batch_size(1)
    limits.check_batch_size(limits.MAX_BATCH)
    for bad in (0, limits.MAX_BATCH + 1):
        with pytest.raises(limits.InvalidInput):
            limits.check_batch_size(bad)


def test_user_inputs_are_bounded() -> None:
    limits.check_user_inputs(["alice", "example.com"])
    with pytest.raises(limits.InvalidInput, match="user_inputs"):
        limits.check_user_inputs(["x"] * (limits.MAX_USER_INPUTS + 1))
