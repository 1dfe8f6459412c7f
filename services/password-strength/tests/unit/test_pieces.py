import math
import random
import string

import pytest
from zxcvbn_rs_py import zxcvbn

from password_strength import estimator, features, passphrase, pieces

SEPARATORS = frozenset(passphrase.SEPARATORS)


def test_short_password_is_zxcvbns_own_count() -> None:
    for password in ("password", "Tr0ub4dor&3", "correct horse", "x" * pieces.PIECE_CHARS):
        count = pieces.count(password)
        assert count.pieces == 1
        assert count.log10_guesses == pytest.approx(zxcvbn(password, []).guesses_log10)


@pytest.mark.parametrize("password", [
    "correct horse battery staple",
    "AOIo1IZXCv7WQhDiiN",
    "ab-" + "c" * 40 + " d",
    "".join(random.Random(3).choice(string.printable[:94]) for _ in range(72)),
])
def test_cut_keeps_every_character_in_pieces_of_at_most_the_limit(password: str) -> None:
    parts = pieces.cut(password)
    assert "".join(parts) == password
    assert all(0 < len(p) <= pieces.PIECE_CHARS for p in parts)
    # A piece is all separators or has none.
    assert all(set(p) <= SEPARATORS or not set(p) & SEPARATORS for p in parts)


def test_phrase_is_cut_into_words_and_counts_multiply() -> None:
    phrase = "correct horse battery staple"
    assert pieces.cut(phrase) == ["correct", " ", "horse", " ", "battery", " ", "staple"]
    count = pieces.count(phrase)
    assert count.pieces == 4  # the words; a single separator is zxcvbn's price for it alone
    assert count.log10_guesses == pytest.approx(
        sum(zxcvbn(p, []).guesses_log10 for p in pieces.cut(phrase)))


def test_a_run_of_separators_is_scored_as_a_piece() -> None:
    password = "-_-_-_-_-_-_-_-_-_-.x"  # zxcvbn sees the repeat inside the run
    assert pieces.cut(password) == ["-_-_-_-_-_", "-_-_-_-_-.", "x"]
    # Far below the 10**21 of 21 unrecognised characters; zxcvbn on the whole says 10**6.3.
    assert pieces.count(password).log10_guesses < 10


def test_long_run_is_cut_evenly_without_a_short_tail() -> None:
    assert [len(p) for p in pieces.cut("k" * 17)] == [9, 8]
    assert [len(p) for p in pieces.cut("k" * 33)] == [11, 11, 11]
    assert [len(p) for p in pieces.cut("ab-" + "c" * 20)] == [2, 1, 10, 10]


def test_users_own_words_keep_the_password_whole() -> None:
    email = "jane.doe-smith@example.org"
    password = email + "2024"
    told = pieces.count(password, [email])
    assert told.pieces == 1  # the address would be cut at "." and "-" otherwise
    assert told.log10_guesses < pieces.count(password).log10_guesses


@pytest.mark.parametrize("password", ["a" * 40, "passwordpassword1passwordpassword1"])
def test_repeated_text_keeps_the_password_whole(password: str) -> None:
    count = pieces.count(password)
    assert count.pieces == 1
    assert count.log10_guesses == pytest.approx(zxcvbn(password, []).guesses_log10)


def test_model_has_no_say_past_its_training_lengths(small_model) -> None:  # noqa: ANN001
    """Past its training lengths the model's linear terms run off: a random 72-character
    string keeps its brute-force price, and a long weak one zxcvbn's count."""
    rng = random.Random(5)
    password = "".join(rng.choice(string.printable[:94]) for _ in range(72))
    assert estimator.combine_estimates(password, 80.0, True, None, frozenset()) == \
        (pytest.approx(features.log10_keyspace(password) - math.log10(2)), False)
    assert estimator.combine_estimates("qwerty" * 5, 3.0, False, None, frozenset()) == \
        (3.0, False)
    estimate = estimator.Estimator(small_model).evaluate(password)
    assert estimate.score == 4 and estimate.log10_guesses > 100
