"""Judge the password model on the dev set, next to zxcvbn alone (see the data README).

    .venv/bin/python bench/password_model.py --model /tmp/model.bin
    .venv/bin/python bench/password_model.py --inputs DIR   # trains a model first
    .venv/bin/python bench/password_model.py                # fetches the pipeline's npm_inputs
                                                            # as the image build does, trains

Prints pass rate per group, Spearman correlation with the true log10 guesses and the AUC of
weak-vs-strong. Figures only; this is not a test.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services/password-strength/src"))

from password_strength import limits, model, train  # noqa: E402
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


def unpack_inputs(scratch: Path) -> Path:
    """The training inputs exactly as the image build sees them under .conveyor/inputs/."""
    from conveyor.config import model as config
    from conveyor.images import npm_inputs

    pipeline = config.load_dir(REPO).pipeline("password-strength")
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
    args = parser.parse_args()
    model_path = args.model
    if model_path is None:
        scratch = Path(tempfile.mkdtemp())
        model_path = scratch / "model.bin"
        inputs = args.inputs or unpack_inputs(scratch)
        started = time.monotonic()
        train.main(["--inputs", str(inputs), "--out", str(model_path)])
        print(f"trained in {time.monotonic() - started:.1f}s")
    learned = model.load(model_path)
    estimator = Estimator(learned)
    rows = read_devset(args.devset)
    passwords = [r["password"] for r in rows]
    z = [float(zxcvbn(p[: limits.ZXCVBN_MAX_CHARS]).guesses_log10) for p in passwords]
    m = [learned.predict(p) for p in passwords]
    both = [estimator.evaluate(p).log10_guesses for p in passwords]
    lowest = [min(a, b) for a, b in zip(z, m, strict=True)]
    table = [["estimator", *GROUPS, "spearman", "auc"],
             judge("zxcvbn", rows, z), judge("model", rows, m),
             judge("min(zxcvbn,model)", rows, lowest), judge("service", rows, both)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"rows={len(rows)} model={model_path} (log10 sanity: {math.isfinite(sum(both))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
