"""Guesses for a passphrase, priced by an attacker with word lists.

- Every word in the EFF diceware list: len(list)**words, times the separator and
  capitalisation choices (the exact space the phrase was drawn from).
- Otherwise, when every word is in the EFF list or in zxcvbn's frequency-ranked English lists:
  each word at its cheapest price, log10(len(EFF list)) or log10(rank) (an attacker tries
  frequent words first, as zxcvbn prices a dictionary word by its rank), summed.

zxcvbn cannot rank these (its guess count saturates at 2**64, about 10**19.3, and a space makes
it price the whole phrase as unrecognised text) and a brute-force count overstates them by
dozens of orders of magnitude, so phrases get their own estimate.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

SEPARATORS = " .-_,"
MAX_WORD_CHARS = 12  # the EFF long list's longest word has 9
MAX_RANKED_WORD_CHARS = 18  # longer words of zxcvbn's lists are not looked for in run-together text
_SEPARATOR_CHOICES = math.log10(len(SEPARATORS) + 1)  # + run together
_CASE_CHOICES = math.log10(3)  # lower, Capitalised, UPPER
_HALF = math.log10(2)  # half the space on average, as for any uniformly drawn secret
_NO_RANKS: Mapping[str, int] = {}


def log10_guesses(password: str, words: Collection[str],
                  ranks: Mapping[str, int] = _NO_RANKS) -> float:
    """Expected guesses for a phrase of at least two list words, else infinity. `words` is
    the EFF list; `ranks` maps English words to their frequency rank (1 = most frequent)."""
    text = password.lower()
    count = _count_words(text, words) if words else 0
    if count >= 2:
        # A diceware phrase keeps its exact price, even where some words are more frequent.
        return count * math.log10(len(words)) + _SEPARATOR_CHOICES + _CASE_CHOICES - _HALF
    if not ranks:
        return math.inf
    cost = _cheapest_words(text, words, ranks)
    return cost + _SEPARATOR_CHOICES + _CASE_CHOICES - _HALF


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


def _cheapest_words(text: str, words: Collection[str], ranks: Mapping[str, int]) -> float:
    """log10 of the product of each word's cheapest price, over at least two words;
    infinity if some word is in no list."""
    eff = math.log10(len(words)) if words else math.inf

    def price(word: str) -> float:
        rank = ranks.get(word)
        return min(eff if word in words else math.inf,
                   math.log10(rank) if rank else math.inf)

    for sep in SEPARATORS:
        if sep in text:
            parts = text.split(sep)
            return math.fsum(price(p) for p in parts) if len(parts) >= 2 else math.inf
    if not text.isalpha():
        return math.inf
    # No separator: the cheapest split into two or more words (the whole is not one word).
    longest = max(MAX_WORD_CHARS, MAX_RANKED_WORD_CHARS)
    best = [0.0] + [math.inf] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(1 if end == len(text) else 0, end - longest), end):
            if best[start] < math.inf:
                cost = best[start] + price(text[start:end])
                if cost < best[end]:
                    best[end] = cost
    return best[-1]
