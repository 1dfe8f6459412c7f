import time

import pytest

from password_strength import crack_time, limits
from password_strength.estimator import Estimator, score_of


@pytest.fixture(scope="module")
def estimator(small_model) -> Estimator:  # noqa: ANN001
    return Estimator(small_model)


def test_score_follows_zxcvbn_scale() -> None:
    assert [score_of(x) for x in (0, 2.99, 3, 5.9, 6, 7.9, 8, 9.99, 10, 30)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_common_password_is_weak_with_advice(estimator: Estimator) -> None:
    e = estimator.evaluate("password")
    assert e.score == 0 and e.log10_guesses < 3
    assert e.feedback.warning and e.feedback.suggestions


def test_random_string_is_strong_without_advice(estimator: Estimator) -> None:
    e = estimator.evaluate("q7#Vr!2xLp9@Zk4m")
    assert e.score == 4 and e.feedback.warning == "" and e.feedback.suggestions == ()


def test_user_inputs_lower_the_estimate(estimator: Estimator) -> None:
    alone = estimator.evaluate("zorblaxquintor")
    told = estimator.evaluate("zorblaxquintor", ["zorblaxquintor"])
    assert told.log10_guesses < alone.log10_guesses


@pytest.mark.parametrize("length", [71, 72, 73, 100, limits.MAX_PASSWORD_CHARS])
def test_long_passwords_are_scored_past_zxcvbns_limit(estimator: Estimator, length: int) -> None:
    started = time.monotonic()
    e = estimator.evaluate(("Tr0ub4dor&3 staple " * 20)[:length])
    assert 0 <= e.score <= 4 and time.monotonic() - started < 2.0


def test_repeated_long_password_stays_weak(estimator: Estimator) -> None:
    assert estimator.evaluate("a" * limits.MAX_PASSWORD_CHARS).score <= 2


def test_crack_time_text() -> None:
    assert crack_time.display(0.5) == "less than a second"
    assert crack_time.display(7200) == "2 hours"
    assert crack_time.display(1e12) == "centuries"
    assert crack_time.seconds(4.0) == 1.0
