import zlib

from password_strength import features


def test_skeleton_undoes_common_leet() -> None:
    assert features.skeleton("P@ssw0rd!") == "passwordi"


def test_hashing_is_stable_across_processes() -> None:
    # crc32 is fixed by its spec; Python's salted hash() would make model files meaningless.
    counts = features.hashed_counts("ab")
    assert zlib.crc32(b"\x02a", 0) & (features.N_HASHED - 1) in counts
    assert abs(sum(v * v for v in counts.values()) - 1.0) < 1e-9


def test_keyspace_bounds_random_strings() -> None:
    assert features.log10_keyspace("aaaa") == 4 * features.math.log10(26)
    assert features.log10_keyspace("aA1!") > features.log10_keyspace("aaaa")


def test_dense_features_match_their_names() -> None:
    assert len(features.dense("Hello World 2024!")) == len(features.DENSE_NAMES)
