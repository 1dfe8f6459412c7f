"""Judge the password model on the dev set, next to zxcvbn alone (see the data README).

    .venv/bin/python bench/password_model.py --model /tmp/model.bin
    .venv/bin/python bench/password_model.py --inputs DIR   # trains a model first
    .venv/bin/python bench/password_model.py                # fetches the pipeline's npm_inputs
                                                            # as the image build does, trains

Prints pass rate per group, Spearman correlation with the true log10 guesses and the AUC of
weak-vs-strong, on two sets:
- the dev set (../shared/data/password-strength/devset.tsv). Its common passwords are in
  zxcvbn's own lists, so zxcvbn (and the service, which trusts zxcvbn where it sees a weakness)
  partly measures memory there;
- an unseen split: a second model is trained on fxa ranks up to 50,000 only, with every
  password of ranks 50,001..100,000 removed from all lists, and tested on the rarer half
  (4,000 common passwords), on mangled forms of its words (1,000: capitalised, leet, suffixed;
  true guesses = rank x 1,000, as in the dev set), and on fresh random strings (1,000) and
  diceware phrases (500). zxcvbn's lists help least there.
Figures only; this is not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import string
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services/password-strength/src"))

from password_strength import limits, model, sources, train  # noqa: E402
from password_strength.estimator import Estimator, score_of  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from zxcvbn_rs_py import zxcvbn  # noqa: E402

DEVSET = REPO / "../shared/data/password-strength/devset.tsv"
GROUPS = ("common_dev", "mangled_dev", "random_dev", "passphrase_dev")
PASSES = {"weak": lambda s: s <= 1, "notstrong": lambda s: s <= 2, "strong": lambda s: s >= 3}


def read_devset(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    # The password is the last field and may itself contain tabs or spaces.
    return [dict(zip(header[:-1], r[: len(header) - 1], strict=True))
            | {"password": "\t".join(r[len(header) - 1:])} for r in rows[1:]]


def judge(name: str, rows: list[dict[str, str]], log10s: list[float]) -> list[str]:
    cells = [name]
    for group in GROUPS:
        picked = [(r, g) for r, g in zip(rows, log10s, strict=True) if r["group"] == group]
        passed = sum(PASSES[r["expect"]](score_of(g)) for r, g in picked)
        cells.append(f"{100 * passed / max(len(picked), 1):.1f}%")
    truth = [float(r["true_log10"]) for r in rows]
    cells.append(f"{spearmanr(truth, log10s).statistic:.3f}")
    strong = [r["expect"] == "strong" for r in rows]
    cells.append(f"{roc_auc_score(strong, log10s):.3f}")
    return cells


SPLIT_RANK = 50_000  # the unseen split trains on ranks up to here, tests on the rarer half
_SUFFIXES = ("1", "12", "123", "!", "2019", "2024", "01", "99", "@123", "*", "#1", "7")
_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$"}


def unseen_split(inputs: Path, seed: int = 99) -> tuple[sources.Corpus, list[dict[str, str]]]:
    """(the training corpus without the rarer half, the test rows built from that half)."""
    rng = random.Random(seed)
    rare: dict[str, int] = {}
    with (inputs / sources.FXA_LIST).open(encoding="utf-8", errors="replace") as lines:
        for rank, line in enumerate(lines, start=1):
            if rank > sources.FXA_MAX_RANK:
                break
            password = line.rstrip("\r\n")
            if rank > SPLIT_RANK and password:
                rare.setdefault(password, rank)
    corpus = sources.load(inputs, max_rank=SPLIT_RANK, exclude=frozenset(rare))
    # The test never uses the dev set's ranks (divisible by 10), nor anything still in training.
    usable = sorted((rank, pw) for pw, rank in rare.items()
                    if rank % sources.HELD_OUT_EVERY and pw not in corpus.ranked
                    and len(pw) <= limits.MAX_PASSWORD_CHARS)
    rows = [_row("common_dev", "weak", math.log10(rank), pw)
            for rank, pw in rng.sample(usable, 4000)]
    words = [(rank, pw) for rank, pw in usable if pw.isalpha() and pw.islower() and len(pw) >= 4]
    for rank, word in rng.sample(words, 1000):
        rows.append(_row("mangled_dev", "notstrong", math.log10(rank) + 3, _mangle(word, rng)))
    for _ in range(1000):
        charset = rng.choice((string.ascii_lowercase + string.digits,
                              string.ascii_letters + string.digits, string.printable[:94]))
        length = rng.randint(12, 20)
        text = "".join(rng.choice(charset) for _ in range(length))
        rows.append(_row("random_dev", "strong",
                         length * math.log10(len(charset)) - math.log10(2), text))
    diceware = sorted(corpus.diceware)
    for _ in range(500):
        count = rng.randint(4, 5)
        text = rng.choice(" .-").join(rng.choice(diceware) for _ in range(count))
        rows.append(_row("passphrase_dev", "strong",
                         count * math.log10(len(diceware)) - math.log10(2), text))
    return corpus, rows


def _mangle(word: str, rng: random.Random) -> str:
    text = word.capitalize() if rng.random() < 0.8 else word
    if rng.random() < 0.3:
        spots = [i for i, c in enumerate(text) if c.lower() in _LEET]
        if spots:
            i = rng.choice(spots)
            text = text[:i] + _LEET[text[i].lower()] + text[i + 1:]
    return text + rng.choice(_SUFFIXES)


def _row(group: str, expect: str, true_log10: float, password: str) -> dict[str, str]:
    return {"group": group, "expect": expect, "true_log10": f"{true_log10:.3f}",
            "password": password}


def table(rows: list[dict[str, str]], learned: model.Model) -> list[list[str]]:
    estimator = Estimator(learned)
    passwords = [r["password"] for r in rows]
    z = [float(zxcvbn(p[: limits.ZXCVBN_MAX_CHARS]).guesses_log10) for p in passwords]
    m = [learned.predict(p) for p in passwords]
    both = [estimator.evaluate(p).log10_guesses for p in passwords]
    lowest = [min(a, b) for a, b in zip(z, m, strict=True)]
    return [["estimator", *GROUPS, "spearman", "auc"],
            judge("zxcvbn", rows, z), judge("model", rows, m),
            judge("min(zxcvbn,model)", rows, lowest), judge("service", rows, both)]


def show(title: str, cells: list[list[str]]) -> None:
    print(title)
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def unpack_inputs(scratch: Path) -> Path:
    """The training inputs exactly as the image build sees them under .conveyor/inputs/."""
    from conveyor.config import loader
    from conveyor.images import npm_inputs

    pipeline = loader.load_dir(REPO).pipeline("password-strength")
    for spec in pipeline.npm_inputs:
        for name, data in npm_inputs.members(spec):
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return scratch / ".conveyor" / "inputs"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--model", type=Path, help="model file (else trained from --inputs)")
    parser.add_argument("--inputs", type=Path, help="unpacked training inputs (default: the "
                        "pipeline's npm_inputs, fetched and unpacked as the image build does)")
    parser.add_argument("--no-split", action="store_true", help="skip the unseen split")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        return judge_all(args, Path(scratch))


def train_into(out: Path, inputs: Path | None = None) -> Path:
    """Train the model as the image build does; `inputs` default: the pipeline's npm_inputs,
    fetched and unpacked next to `out`. Returns the inputs used."""
    inputs = inputs or unpack_inputs(out.parent)
    started = time.monotonic()
    train.main(["--inputs", str(inputs), "--out", str(out)])
    print(f"trained in {time.monotonic() - started:.1f}s")
    return inputs


def judge_all(args: argparse.Namespace, scratch: Path) -> int:
    inputs = args.inputs
    model_path = args.model
    if model_path is None:
        model_path = scratch / "model.bin"
        inputs = train_into(model_path, inputs)
    learned = model.load(model_path)
    rows = read_devset(args.devset)
    figures = {"dev": table(rows, learned)}
    show(f"dev set ({len(rows)} rows, model {learned.sha256[:12]}):", figures["dev"])
    if not args.no_split:
        inputs = inputs or unpack_inputs(scratch)
        corpus, split_rows = unseen_split(inputs)
        started = time.monotonic()
        split_model = model.Model.from_bytes(train.train(inputs, corpus=corpus).to_bytes())
        print(f"split model trained in {time.monotonic() - started:.1f}s")
        figures["unseen"] = table(split_rows, split_model)
        show(f"unseen split (trained on fxa ranks <= {SPLIT_RANK:,}, tested on the rarer half; "
             f"{len(split_rows)} rows; groups as in the dev set):", figures["unseen"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
