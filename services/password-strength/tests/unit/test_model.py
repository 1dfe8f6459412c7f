import hashlib
from pathlib import Path

import pytest

from password_strength import features, model, sources, train


def test_training_twice_gives_byte_identical_files(inputs_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    digests = [train.main(["--inputs", str(inputs_dir), "--out", str(out), "--scale", "0.01"])
               for out in (first, second)]
    assert digests == [0, 0]
    assert first.read_bytes() == second.read_bytes()
    assert model.save(model.load(first), tmp_path / "c.bin") == \
        hashlib.sha256(first.read_bytes()).hexdigest()


def test_a_different_seed_gives_a_different_model(inputs_dir: Path) -> None:
    a = train.train(inputs_dir, scale=0.01, seed=1).to_bytes()
    b = train.train(inputs_dir, scale=0.01, seed=2).to_bytes()
    assert a != b


def test_round_trip_keeps_predictions(small_model: model.Model) -> None:
    loaded = model.Model.from_bytes(small_model.to_bytes())
    for password in ("password", "Tr0ub4dor&3", "correct horse battery staple"):
        assert loaded.predict(password) == small_model.predict(password)
    assert loaded.english == small_model.english and loaded.diceware == small_model.diceware


def test_the_model_carries_the_ranked_english_words_of_zxcvbns_lists(
        small_model: model.Model) -> None:
    english = small_model.english
    assert len(english) == sources.ENGLISH_MAX_WORDS
    # The best rank over zxcvbn's lists (each word is kept in one list only).
    assert english["the"] == 1 and {"horse", "battery", "staple"} <= english.keys()
    assert all(word.isalpha() for word in english)


def test_predictions_stay_within_the_brute_force_keyspace(small_model: model.Model) -> None:
    for password in ("a", "zzzzzzzz", "9" * 40, "Q#x9!kd0Lw2@pz"):
        assert 0.0 <= small_model.predict(password) <= features.log10_keyspace(password)


def test_rejects_files_that_are_not_models(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"\x80\x04pickle")
    with pytest.raises(model.ModelError, match="not a password-strength model"):
        model.load(bogus)
    with pytest.raises(model.ModelError, match="cannot read"):
        model.load(tmp_path / "missing.bin")


def test_dev_ranks_and_deep_ranks_never_reach_training(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "list.txt"
    path.write_text("".join(f"pw{i}\n" for i in range(1, 41)))
    monkeypatch.setattr(sources, "FXA_MAX_RANK", 25)
    train_list, held_out = sources.read_fxa(path)
    assert len(train_list) == 25  # ranks above the cap are not even read
    assert held_out == {"pw10", "pw20"}
    assert "pw10" not in train_list and train_list[8] == "pw9" and train_list[9] == ""


def test_held_out_passwords_are_removed_from_every_other_list(inputs_dir: Path) -> None:
    corpus = sources.load(inputs_dir)
    assert "pw00010" not in corpus.ranked and corpus.ranked["pw00011"] == 11
    # "password" is rank 1 of zxcvbn-ts's list and in the other lists: the best rank wins.
    assert corpus.ranked["password"] <= 2
