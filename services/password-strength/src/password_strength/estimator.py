"""One password in, one estimate out: the guesses of the best-informed of several attackers.

- zxcvbn knows leaked lists, words, keyboard walks, dates, sequences and the user's own words.
  Where it finds the whole password as one entry of its leaked-password list (its "common
  password" warnings) its count is that list's rank, the best ranking we have: taken as is.
  Where it finds it weak (under 10**6 guesses) only by pricing pieces (a date, a name, a word),
  its count underrates how rarely people pick the whole, so the model may raise it, to the
  geometric mean of the two counts at most; it never lowers it there.
- The learned model knows what leaked and mangled passwords look like; it decides where zxcvbn
  saw no weakness, but only while it predicts a weak-to-medium count (under 10**8), and only
  for passwords of the lengths it learned from (at most 24 characters).
- Uniformly random strings are priced by their brute-force space and phrases by their word
  lists (the EFF diceware list, else zxcvbn's frequency-ranked English words; passphrase.py):
  zxcvbn's count saturates at 2**64 and prices unrecognised text at 10**length, which ranks a
  random string below a phrase of the same length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from password_strength import crack_time, features, limits, passphrase, pieces
from password_strength.feedback import Feedback, combine
from password_strength.model import Model

SCORE_THRESHOLDS = (3.0, 6.0, 8.0, 10.0)  # log10 guesses where scores 1, 2, 3 and 4 start
ZXCVBN_TRUSTED_BELOW = 6.0  # zxcvbn's count is used as is below this
MODEL_TRUSTED_BELOW = 8.0  # the model may lower an estimate only with a count under this
# The model has no say on a longer password: its random training strings have at most 24
# characters, and past about 40 its linear terms run off (a random 72-character string:
# 10**0). zxcvbn's count is kept there; on the fxa list's 3,171 passwords of 17-40 characters
# the model changed 4 estimates.
MODEL_MAX_CHARS = 24
ZXCVBN_SATURATED = 19.0  # log10(2**64) is 19.27: zxcvbn's u64 count has overflowed
# zxcvbn's warnings for a password that is, whole, one entry of its leaked-password list.
LISTED_WARNINGS = frozenset({"This is a top-10 common password.",
                             "This is a top-100 common password.",
                             "This is a very common password."})
_HALF = math.log10(2)  # a uniformly drawn secret is found after half its space, on average


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
        # zxcvbn only sees a prefix, a long one in pieces (pieces.py); the brute-force space
        # and the phrase price see the whole password.
        prefix = password[: limits.ZXCVBN_MAX_CHARS]
        z = pieces.count(prefix, user_inputs)
        z_log = z.log10_guesses
        keyspace = features.log10_keyspace(password)
        m_log = (self.model.predict(password, keyspace) if len(password) <= MODEL_MAX_CHARS
                 else None)
        log10_guesses, from_model = combine_estimates(
            password, z_log, is_brute_force(z_log, len(prefix), z.pieces), m_log,
            self.model.diceware, z.pieces == 1 and is_listed(z.feedback), keyspace,
            self.model.english)
        score = score_of(log10_guesses)
        secs = crack_time.seconds(log10_guesses)
        model_lowered_score = from_model and score < score_of(z_log)
        return Estimate(
            score=score,
            log10_guesses=round(log10_guesses, 4),
            crack_time_seconds=secs,
            crack_time_display=crack_time.display(secs),
            feedback=combine(score, z.feedback, model_lowered_score),
        )


def is_listed(feedback: object | None) -> bool:
    """zxcvbn matched the whole password to one entry of its leaked-password list."""
    warning = getattr(feedback, "warning", None)
    return warning is not None and str(warning) in LISTED_WARNINGS


def is_brute_force(z_log: float, length: int, pieces: int = 1) -> bool:
    """zxcvbn found nothing: its count overflowed, or is its 10**length brute-force price
    (within an order of magnitude per piece it was scored in)."""
    return z_log >= ZXCVBN_SATURATED or (z_log >= length - pieces
                                         and z_log >= SCORE_THRESHOLDS[2])


def combine_estimates(password: str, z_log: float, z_brute: bool, m_log: float | None,
                      diceware: frozenset[str], z_listed: bool = False,
                      keyspace: float | None = None,
                      english: Mapping[str, int] | None = None) -> tuple[float, bool]:
    """(log10 guesses, whether the model's count was the one taken to lower zxcvbn's).
    `m_log` None: the model has no say (a password longer than MODEL_MAX_CHARS)."""
    if not z_brute and z_log < ZXCVBN_TRUSTED_BELOW:
        if z_listed or m_log is None:
            return z_log, False
        return max(z_log, (z_log + min(m_log, MODEL_TRUSTED_BELOW)) / 2), False
    if keyspace is None:
        keyspace = features.log10_keyspace(password)
    bound = min(keyspace - _HALF,
                passphrase.log10_guesses(password, diceware, english or {}),
                math.inf if z_brute else z_log)
    if m_log is not None and m_log < MODEL_TRUSTED_BELOW and m_log < bound:
        return m_log, True
    return max(bound, 0.0), False
