import math

from password_strength import passphrase
from password_strength.estimator import combine_estimates, is_brute_force

WORDS = frozenset({"correct", "horse", "battery", "staple", "cab", "driver", "cabdriver"})


def test_phrases_of_list_words_are_priced_by_the_list() -> None:
    four = passphrase.log10_guesses("correct horse battery staple", WORDS)
    assert math.isclose(four - passphrase.log10_guesses("correct horse battery", WORDS),
                        math.log10(len(WORDS)))
    assert passphrase.log10_guesses("Correct-Horse-Battery", WORDS) < math.inf
    assert passphrase.log10_guesses("correcthorsebattery", WORDS) < math.inf


def test_anything_else_is_not_a_phrase() -> None:
    for text in ("correct", "correct horse x", "correcthorsex", "c0rrect horse", ""):
        assert passphrase.log10_guesses(text, WORDS) == math.inf
    assert passphrase.log10_guesses("correct horse", frozenset()) == math.inf


def test_zxcvbn_rules_where_it_sees_a_weakness() -> None:
    # A whole entry of zxcvbn's leaked list: its rank stands, whatever the model says.
    assert combine_estimates("password", 2.0, False, 4.5, WORDS, z_listed=True) == (2.0, False)
    # Weak only piece by piece (a date, a name): the model may raise it halfway, never lower.
    assert combine_estimates("rennie1960", 4.0, False, 5.0, WORDS) == (4.5, False)
    assert combine_estimates("rennie1960", 4.0, False, 3.0, WORDS) == (4.0, False)
    # zxcvbn saw nothing but the model did: the model's count is taken.
    assert combine_estimates("Zorblax2019", 11.0, True, 6.5, WORDS) == (6.5, True)


def test_random_strings_rank_by_their_space_not_zxcvbns_overflow() -> None:
    short, long = "q7#Vr!2xLp9@", "q7#Vr!2xLp9@Zk4m&t"
    estimates = [combine_estimates(p, 19.27, True, 25.0, WORDS)[0] for p in (short, long)]
    assert estimates[0] < estimates[1] and estimates[1] > 30
    assert is_brute_force(19.27, 40) and is_brute_force(12.0, 12)
    assert not is_brute_force(5.0, 6) and not is_brute_force(9.0, 14)
