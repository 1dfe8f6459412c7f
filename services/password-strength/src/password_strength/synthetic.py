"""Synthetic training examples with known guess counts: mangled words, random strings and
diceware phrases. Every generator takes its own seeded Random, so output is reproducible."""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence

Example = tuple[str, float]  # (password, log10 guesses)

_LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1"}
_SYMBOLS = "!@#$%&*?.-_"
_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("{d}", 10), ("{d}{d}", 100), ("{y}", 80), ("123", 30), ("1", 10), ("{s}", 11),
    ("{d}{s}", 110), ("{y}{s}", 880), ("{d}{d}{s}", 1100), ("!@#", 30), ("{d}{d}{d}", 1000),
)
CHARSETS: tuple[str, ...] = (
    string.ascii_lowercase,
    string.ascii_lowercase + string.digits,
    string.ascii_letters + string.digits,
    string.ascii_letters + string.digits + string.punctuation,
    string.hexdigits[:16],
)
SEPARATORS = ("", " ", ".", "-", "_")


def mangled(words: Sequence[tuple[str, int]], count: int, rng: random.Random) -> list[Example]:
    """Capitalise / leet / add a suffix or prefix; the rank grows by the number of choices
    each rule offers, which is how a rule-based cracker would pay for it."""
    out: list[Example] = []
    for _ in range(count):
        word, rank = words[rng.randrange(len(words))]
        guesses = float(rank)
        text = word
        if rng.random() < 0.6:
            text = text.capitalize() if rng.random() < 0.8 else text.upper()
            guesses *= 2
        if rng.random() < 0.35:
            text, choices = _leet(text, rng)
            guesses *= choices
        if rng.random() < 0.85:
            pattern, choices = _SUFFIXES[rng.randrange(len(_SUFFIXES))]
            text += _fill(pattern, rng)
            guesses *= choices
        if rng.random() < 0.1:
            text = rng.choice(_SYMBOLS) + text
            guesses *= len(_SYMBOLS)
        out.append((text, math.log10(guesses * 4)))  # x4: which rules were used at all
    return out


def _leet(text: str, rng: random.Random) -> tuple[str, int]:
    spots = [i for i, c in enumerate(text) if c.lower() in _LEET]
    if not spots:
        return text, 1
    chars = list(text)
    for i in rng.sample(spots, k=min(len(spots), rng.randint(1, 2))):
        chars[i] = rng.choice(_LEET[chars[i].lower()])
    return "".join(chars), 2 ** min(len(spots), 6)


def _fill(pattern: str, rng: random.Random) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("{d}", i):
            out.append(str(rng.randrange(10)))
            i += 3
        elif pattern.startswith("{y}", i):
            out.append(str(rng.randrange(1950, 2030)))
            i += 3
        elif pattern.startswith("{s}", i):
            out.append(rng.choice(_SYMBOLS))
            i += 3
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def random_strings(count: int, rng: random.Random) -> list[Example]:
    out: list[Example] = []
    for _ in range(count):
        charset = CHARSETS[rng.randrange(len(CHARSETS))]
        length = rng.randint(6, 24)
        text = "".join(rng.choice(charset) for _ in range(length))
        out.append((text, length * math.log10(len(charset))))
    return out


def passphrases(words: Sequence[str], count: int, rng: random.Random) -> list[Example]:
    out: list[Example] = []
    for _ in range(count):
        n = rng.randint(2, 6)
        chosen = [rng.choice(words) for _ in range(n)]
        choices = float(len(SEPARATORS))
        if rng.random() < 0.2:
            chosen = [w.capitalize() for w in chosen]
            choices *= 2
        text = rng.choice(SEPARATORS).join(chosen)
        out.append((text, n * math.log10(len(words)) + math.log10(choices)))
    return out
