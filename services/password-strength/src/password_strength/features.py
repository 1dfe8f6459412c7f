"""Turn a password into model features; training and scoring share this code exactly.

Features are hashed character n-grams of a "skeleton" (lower case, common leet undone), so
`P@ssw0rd` looks like `password`, plus n-grams of the character-class shape (`Ulllllld`) and a
few dense counts. Hashing uses crc32, which is stable across processes and machines (Python's
`hash()` is salted), so a model file means the same thing everywhere.
"""

from __future__ import annotations

import math
import string
import zlib

N_HASHED = 1 << 18
NGRAM_SIZES = (1, 2, 3, 4, 5)
SHAPE_NGRAM_SIZES = (2, 3, 4)
DENSE_NAMES = (
    "length", "log_length", "classes", "log10_keyspace", "upper", "digits", "symbols",
    "separators", "distinct_ratio", "words_shape",
)
N_FEATURES = N_HASHED + len(DENSE_NAMES)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "+": "t"})
_SEPARATORS = frozenset(" .-_,;:/")


def skeleton(password: str) -> str:
    return password.lower().translate(_LEET)


def shape(password: str) -> str:
    return "".join(_char_class(c) for c in password)


def _char_class(c: str) -> str:
    if c.islower():
        return "l"
    if c.isupper():
        return "U"
    if c.isdigit():
        return "d"
    if c in _SEPARATORS:
        return "s"
    return "p"


def hashed_counts(password: str) -> dict[int, float]:
    """Sparse n-gram counts, L2-normalised so long strings do not simply add up."""
    counts: dict[int, float] = {}
    # n-grams of UTF-8 bytes: slicing bytes is cheap, and crc32's start value keeps the
    # character and shape families apart.
    _count(counts, b"\x02" + _utf8(skeleton(password)) + b"\x03", NGRAM_SIZES, 0)
    _count(counts, b"\x02" + shape(password).encode() + b"\x03", SHAPE_NGRAM_SIZES, 1)
    norm = math.sqrt(sum(v * v for v in counts.values()))
    return {k: v / norm for k, v in counts.items()}


def _count(counts: dict[int, float], text: bytes, sizes: tuple[int, ...], family: int) -> None:
    crc = zlib.crc32
    mask = N_HASHED - 1
    get = counts.get
    for n in sizes:
        for i in range(len(text) - n + 1):
            key = crc(text[i:i + n], family) & mask
            counts[key] = get(key, 0.0) + 1.0


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def dense(password: str) -> list[float]:
    length = len(password)
    upper = sum(c.isupper() for c in password)
    digits = sum(c.isdigit() for c in password)
    separators = sum(c in _SEPARATORS for c in password)
    lower = sum(c.islower() for c in password)
    symbols = length - upper - digits - lower - separators
    return [
        float(length),
        math.log1p(length),
        float(sum(1 for k in (upper, digits, lower, symbols + separators) if k)),
        log10_keyspace(password) / 10.0,
        float(upper),
        float(digits),
        float(symbols),
        float(separators),
        len(set(password)) / max(length, 1),
        float(shape(password).count("sl")),
    ]


def log10_keyspace(password: str) -> float:
    """log10 of a brute-force search over the character classes the password uses: an upper
    bound on the guesses any sensible attacker needs, so no estimate may exceed it."""
    size = 0
    if any(c.islower() for c in password):
        size += 26
    if any(c.isupper() for c in password):
        size += 26
    if any(c.isdigit() for c in password):
        size += 10
    if any(c in string.punctuation or c == " " for c in password):
        size += 33
    if any(ord(c) > 127 for c in password):
        size += 100
    return len(password) * math.log10(max(size, 2))
