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
from collections import Counter

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
_PUNCTUATION = frozenset(string.punctuation + " ")


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
    counts = Counter(hashed_keys(password))
    norm = math.sqrt(sum(v * v for v in counts.values()))
    return {k: v / norm for k, v in counts.items()}


def hashed_keys(password: str, form_text: str | None = None) -> list[int]:
    """The hashed n-grams of the password, repeats included (`form_text`: its shape, when
    the caller has it already).

    n-grams are taken over UTF-8 bytes (slicing bytes is cheap) and crc32's start value keeps
    the character and shape families apart."""
    crc = zlib.crc32
    mask = N_HASHED - 1
    text = b"\x02" + _utf8(skeleton(password)) + b"\x03"
    form = b"\x02" + (form_text or shape(password)).encode() + b"\x03"
    return ([crc(text[i:i + n]) & mask for n in NGRAM_SIZES for i in range(len(text) - n + 1)]
            + [crc(form[i:i + n], 1) & mask
               for n in SHAPE_NGRAM_SIZES for i in range(len(form) - n + 1)])


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def dense(password: str, form: str | None = None, keyspace: float | None = None) -> list[float]:
    """Dense counts (`form` and `keyspace`: shape() and log10_keyspace(), when known)."""
    length = len(password)
    form = form or shape(password)
    upper, digits, lower = form.count("U"), form.count("d"), form.count("l")
    separators, symbols = form.count("s"), form.count("p")
    return [
        float(length),
        math.log1p(length),
        float((upper > 0) + (digits > 0) + (lower > 0) + (symbols + separators > 0)),
        (log10_keyspace(password) if keyspace is None else keyspace) / 10.0,
        float(upper),
        float(digits),
        float(symbols),
        float(separators),
        len(set(password)) / max(length, 1),
        float(form.count("sl")),
    ]


def log10_keyspace(password: str) -> float:
    """log10 of a brute-force search over the character classes the password uses: an upper
    bound on the guesses any sensible attacker needs, so no estimate may exceed it."""
    chars = set(password)
    size = 0
    if any(c.islower() for c in chars):
        size += 26
    if any(c.isupper() for c in chars):
        size += 26
    if any(c.isdigit() for c in chars):
        size += 10
    if not chars.isdisjoint(_PUNCTUATION):
        size += 33
    if any(ord(c) > 127 for c in chars):
        size += 100
    return len(password) * math.log10(max(size, 2))
