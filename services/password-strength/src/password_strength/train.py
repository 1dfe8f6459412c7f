"""Train the model: `python -m password_strength.train --inputs DIR --out FILE`.

Training is reproducible: fixed seeds, a deterministic solver and a pickle-free file format,
so the same inputs give a byte-identical model file (its sha256 is printed).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import Ridge

from password_strength import features, sources, synthetic
from password_strength.model import Model, save

TARGET_CAP = 20.0  # beyond this, exact values do not matter for a 0-4 score
SEED = 20240601
LSQR_ITERATIONS = 60


def examples_from(corpus: sources.Corpus, scale: float, seed: int) -> list[synthetic.Example]:
    """All training pairs (password, log10 guesses): leaked lists plus synthetic strong and
    mangled strings, sized by `scale` (1.0 for the real model, small for tests)."""
    rng = random.Random(seed)
    leaked = [(pw, math.log10(rank)) for pw, rank in sorted(corpus.ranked.items())]
    rng.shuffle(leaked)
    leaked = leaked[: int(len(leaked) * min(scale, 1.0))] or leaked[:1]
    words = sorted(corpus.words.items())
    n = max(int(60_000 * scale), 10)
    out = leaked
    out += synthetic.mangled(words, n, random.Random(seed + 1))
    out += synthetic.random_strings(n, random.Random(seed + 2))
    out += synthetic.passphrases(corpus.diceware, n // 2, random.Random(seed + 3))
    return out


def fit(examples: Sequence[synthetic.Example], meta: dict[str, object],
        diceware: Sequence[str] = (), english: Mapping[str, int] | None = None) -> Model:
    started = time.process_time()
    dense = np.asarray([features.dense(password) for password, _ in examples], dtype=np.float64)
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    # CSR built straight into typed arrays: lists of Python numbers would take gigabytes.
    indptr, indices, data = array("q", [0]), array("i"), array("d")
    for password, _ in examples:
        counts = features.hashed_counts(password)
        indices.extend(counts.keys())
        data.extend(counts.values())
        indptr.append(len(indices))
    hashed = sparse.csr_matrix((np.frombuffer(data, dtype=np.float64),
                                np.frombuffer(indices, dtype=np.int32),
                                np.frombuffer(indptr, dtype=np.int64)),
                               shape=(len(examples), features.N_HASHED))
    x = sparse.hstack([hashed, sparse.csr_matrix((dense - mean) / scale)], format="csr")
    print(f"features: {time.process_time() - started:.1f}s cpu", file=sys.stderr)
    y = np.clip([target for _, target in examples], 0.0, TARGET_CAP)
    # Ridge by LSQR with a fixed iteration cap: deterministic (no random state at all) and
    # the cap bounds training time; more iterations barely move the dev-set figures.
    regressor = Ridge(alpha=1.0, solver="lsqr", tol=1e-4, max_iter=LSQR_ITERATIONS)
    started = time.process_time()
    regressor.fit(x, y)
    print(f"fit: {time.process_time() - started:.1f}s cpu", file=sys.stderr)
    coef = regressor.coef_.astype(np.float64)
    # Round through float32 so what is saved is exactly what is used.
    weights = coef[: features.N_HASHED].astype(np.float32)
    dense_weights = tuple(float(np.float32(w)) for w in coef[features.N_HASHED:] / scale)
    return Model(weights=weights, dense_weights=dense_weights,
                 dense_mean=tuple(float(np.float32(m)) for m in mean),
                 intercept=float(np.float32(regressor.intercept_)), target_cap=TARGET_CAP,
                 meta=meta, diceware=frozenset(diceware),
                 english=dict(english or {}))


def train(inputs: Path, scale: float = 1.0, seed: int = SEED,
          corpus: sources.Corpus | None = None) -> Model:
    """`corpus` overrides what is read from `inputs` (the bench's unseen split)."""
    corpus = corpus or sources.load(inputs)
    examples = examples_from(corpus, scale, seed)
    meta: dict[str, object] = {"examples": len(examples), "leaked": len(corpus.ranked),
                               "scale": scale, "seed": seed, "data": sources.versions(inputs)}
    return fit(examples, meta, corpus.diceware, corpus.english)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m password_strength.train")
    parser.add_argument("--inputs", type=Path, required=True,
                        help="directory holding the unpacked npm packages (.conveyor/inputs)")
    parser.add_argument("--out", type=Path, required=True, help="model file to write")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the data to use")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.monotonic()
    model = train(args.inputs, args.scale, args.seed)
    digest = save(model, args.out)
    print(f"{args.out} sha256={digest} examples={model.meta['examples']} "
          f"in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(digest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
