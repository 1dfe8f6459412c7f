import math

from password_strength import passphrase
from password_strength.estimator import combine_estimates, is_brute_force, score_of

WORDS = frozenset({"correct", "horse", "battery", "staple", "cab", "driver", "cabdriver"})
# Ranks as in zxcvbn's lists (us_tv_and_film, passwords, english_wikipedia x 2).
RANKS = {"correct": 1140, "horse": 701, "battery": 2197, "staple": 6467, "the": 1, "cab": 5000}
EFF = frozenset({"correct", "battery", "staple", "abacus", "zebra"}
                | {f"w{i}" for i in range(7771)})  # 7,776 words, as the EFF list


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


def test_phrases_of_frequent_words_cost_the_product_of_their_ranks() -> None:
    # "horse" is not an EFF word: before, no list price, so the brute-force space (10**49).
    assert passphrase.log10_guesses("correct horse battery staple", EFF) == math.inf
    ranked = passphrase.log10_guesses("correct horse battery staple", EFF, RANKS)
    choices = math.log10(6) + math.log10(3) - math.log10(2)  # separators, case, half
    expected = math.log10(1140 * 701 * 2197 * 6467) + choices
    assert math.isclose(ranked, expected) and 14 < ranked < 15
    for form in ("correcthorsebatterystaple", "Correct-Horse-Battery-Staple"):
        assert math.isclose(passphrase.log10_guesses(form, EFF, RANKS), expected)
    # Each word at its cheapest list: a rarer word is priced by the EFF list where it is in it.
    mixed = passphrase.log10_guesses("horse zebra", EFF, RANKS)
    assert math.isclose(mixed, math.log10(701) + math.log10(len(EFF)) + choices)


def test_an_eff_phrase_keeps_its_diceware_price_and_unknown_words_keep_infinity() -> None:
    # Every word in the EFF list: its exact space, though "correct" is a frequent word.
    eff_only = passphrase.log10_guesses("correct battery staple abacus", EFF, RANKS)
    assert eff_only == passphrase.log10_guesses("correct battery staple abacus", EFF)
    assert math.isclose(eff_only, 4 * math.log10(len(EFF)) + math.log10(6) + math.log10(3)
                        - math.log10(2))
    for text in ("correct horse xqzv", "correcthorsexqzv", "horse", "horse 1", "the"):
        assert passphrase.log10_guesses(text, EFF, RANKS) == math.inf


def test_the_phrase_scores_4_when_zxcvbn_saturates_on_its_spaces() -> None:
    phrase = "correct horse battery staple"
    before = combine_estimates(phrase, 19.27, True, 25.0, EFF)[0]
    after = combine_estimates(phrase, 19.27, True, 25.0, EFF, english=RANKS)[0]
    assert before > 45 and 14 < after < 15 and score_of(after) == 4
