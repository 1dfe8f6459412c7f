"""zxcvbn's count for a password, at a cost linear in its length.

zxcvbn matches every substring against every list, so its cost grows with the square of the
length (in-process: 16 characters 0.08 ms, 28 characters 0.22-0.28 ms, 72 characters 1.6-4.4
ms), while its count saturates at 2**64 from about 28 characters on. A password of at most
PIECE_CHARS characters is scored whole, exactly as zxcvbn would. A longer one is cut into the
words between its separators (a word longer than PIECE_CHARS into equal parts), each scored by
zxcvbn; a single separator costs what zxcvbn charges for that one character, and a run of them
is a piece of its own. The counts multiply, as an attacker guessing each piece on its own would
need. zxcvbn prices text it does not recognise at 10**length plus a margin for its sequence,
and each piece has its own margin: estimator.is_brute_force allows one order of magnitude per
piece.

What cutting loses is a match across a cut: a list entry or keyboard walk longer than a piece,
a date written with separators inside a long password. Two cases are always scored whole,
however long: a password that contains one of the user's own words (an e-mail address, a
name), and one that repeats a shorter text ("passwordpassword...", "aaaa..."). Those keep
zxcvbn's cost on the whole prefix it sees (estimator.py: at most 72 characters).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from zxcvbn_rs_py import zxcvbn

from password_strength import passphrase

PIECE_CHARS = 16
_SEPARATOR_CLASS = re.escape(passphrase.SEPARATORS)  # where phrases are cut into words
_RUNS = re.compile(f"[^{_SEPARATOR_CLASS}]+|[{_SEPARATOR_CLASS}]+")
_REPEATS = re.compile(r"(.+?)\1+", re.DOTALL)  # zxcvbn's repeat matcher's pattern
# A single separator between two words costs what zxcvbn charges for that one character.
_SEPARATOR_LOG10 = {c: float(zxcvbn(c, []).guesses_log10) for c in passphrase.SEPARATORS}


@dataclass(frozen=True)
class Count:
    log10_guesses: float
    feedback: object | None  # zxcvbn's Feedback of the whole, or of the weakest piece
    # How many pieces zxcvbn scored. 1: it saw the whole password, or all of it but single
    # separators at its ends (a list entry between two separators still counts as listed).
    pieces: int


def count(password: str, user_inputs: Sequence[str] = ()) -> Count:
    if (len(password) <= PIECE_CHARS or _REPEATS.fullmatch(password)
            or _contains_any(password, user_inputs)):
        z = zxcvbn(password, list(user_inputs))
        return Count(float(z.guesses_log10), z.feedback, pieces=1)
    inputs = list(user_inputs)
    total, weakest, feedback, scored = 0.0, math.inf, None, 0
    for piece in cut(password):
        if piece in _SEPARATOR_LOG10:
            total += _SEPARATOR_LOG10[piece]
            continue
        z = zxcvbn(piece, inputs)
        log10 = float(z.guesses_log10)
        total += log10
        scored += 1
        if log10 < weakest:
            weakest, feedback = log10, z.feedback
    return Count(total, feedback, pieces=scored)


def cut(password: str) -> list[str]:
    """The words between single separators, and runs of separators, each a piece of at most
    PIECE_CHARS characters (a longer one is cut into equal parts: no short tail, which zxcvbn
    would price as a couple of guesses)."""
    pieces = []
    for run in _RUNS.findall(password):
        parts = -(-len(run) // PIECE_CHARS)
        size, extra = divmod(len(run), parts)
        at = 0
        for k in range(parts):
            end = at + size + (k < extra)
            pieces.append(run[at:end])
            at = end
    return pieces


def _contains_any(password: str, user_inputs: Sequence[str]) -> bool:
    lowered = password.lower()
    return any(word and word.lower() in lowered for word in user_inputs)
