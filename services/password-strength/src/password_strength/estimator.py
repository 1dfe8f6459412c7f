"""One password in, one estimate out: the lower of zxcvbn's and the model's guess counts.

zxcvbn knows keyboard walks, dates, sequences and the user's own words; the model knows what
leaked and mangled passwords look like. The lower estimate is the better-informed attacker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zxcvbn_rs_py import zxcvbn

from password_strength import crack_time, limits
from password_strength.feedback import Feedback, combine
from password_strength.model import Model

SCORE_THRESHOLDS = (3.0, 6.0, 8.0, 10.0)  # log10 guesses where scores 1, 2, 3 and 4 start


@dataclass(frozen=True)
class Estimate:
    score: int
    log10_guesses: float
    crack_time_seconds: float
    crack_time_display: str
    feedback: Feedback


def score_of(log10_guesses: float) -> int:
    return sum(log10_guesses >= t for t in SCORE_THRESHOLDS)


class Estimator:
    def __init__(self, model: Model) -> None:
        self.model = model

    def evaluate(self, password: str, user_inputs: Sequence[str] = ()) -> Estimate:
        """Callers validate first (limits.check_password); this never logs the password."""
        # zxcvbn only sees a prefix: its cost grows fast with length, and the model still
        # sees the whole password, so the estimate can only be conservative.
        z = zxcvbn(password[: limits.ZXCVBN_MAX_CHARS], list(user_inputs))
        z_log = float(z.guesses_log10)
        m_log = self.model.predict(password)
        model_was_lower = m_log < self.model.target_cap and m_log < z_log
        log10_guesses = m_log if model_was_lower else z_log
        score = score_of(log10_guesses)
        secs = crack_time.seconds(log10_guesses)
        model_lowered_score = model_was_lower and score < score_of(z_log)
        return Estimate(
            score=score,
            log10_guesses=round(log10_guesses, 4),
            crack_time_seconds=secs,
            crack_time_display=crack_time.display(secs),
            feedback=combine(score, z.feedback, model_lowered_score),
        )
