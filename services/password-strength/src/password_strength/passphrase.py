"""Guesses for a diceware passphrase: an attacker who knows the word list pays
len(list)**words, times the separator and capitalisation choices.

zxcvbn cannot rank these (its guess count saturates at 2**64, about 10**19.3) and a brute-force
count overstates them by dozens of orders of magnitude, so phrases get their own estimate.
"""

from __future__ import annotations

import math
from collections.abc import Collection

SEPARATORS = " .-_,"
MAX_WORD_CHARS = 12  # the EFF long list's longest word has 9
_SEPARATOR_CHOICES = math.log10(len(SEPARATORS) + 1)  # + run together
_CASE_CHOICES = math.log10(3)  # lower, Capitalised, UPPER


def log10_guesses(password: str, words: Collection[str]) -> float:
    """Expected guesses for a phrase of at least two list words, else infinity."""
    if not words:
        return math.inf
    count = _count_words(password.lower(), words)
    if count < 2:
        return math.inf
    # Half the space on average, as for any uniformly drawn secret.
    return (count * math.log10(len(words)) + _SEPARATOR_CHOICES + _CASE_CHOICES
            - math.log10(2))


def _count_words(text: str, words: Collection[str]) -> int:
    for sep in SEPARATORS:
        if sep in text:
            parts = text.split(sep)
            return len(parts) if all(p in words for p in parts) else 0
    if not text.isalpha():
        return 0
    # No separator: the fewest list words that spell the text (0 if none do).
    fewest = [0] + [-1] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - MAX_WORD_CHARS), end):
            if fewest[start] >= 0 and text[start:end] in words:
                if fewest[end] < 0 or fewest[start] + 1 < fewest[end]:
                    fewest[end] = fewest[start] + 1
    return max(fewest[-1], 0)
