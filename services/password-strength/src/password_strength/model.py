"""The learned model: a linear regressor over `features`, stored in a deterministic format.

File layout: a magic line, one line of JSON (sorted keys) with the parameters, then the hashed
weights as little-endian float32. No pickle: the same training run gives the same bytes, and
loading a file cannot execute code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from password_strength import features

MAGIC = b"password-strength-model v1\n"
ENV_MODEL = "PASSWORD_STRENGTH_MODEL"


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class Model:
    weights: np.ndarray  # float32, one per hashed feature
    dense_weights: tuple[float, ...]  # already divided by the training scale
    dense_mean: tuple[float, ...]
    intercept: float
    target_cap: float  # predictions at or above this mean "nothing recognisable"
    meta: dict[str, object]
    diceware: frozenset[str] = frozenset()  # the EFF word list, for passphrase estimates
    english: dict[str, int] = field(default_factory=dict)  # word -> frequency rank, likewise
    sha256: str = ""  # of the file it was loaded from, for logs

    def predict(self, password: str, keyspace: float | None = None) -> float:
        """log10 guesses, within [0, brute-force keyspace] (`keyspace`: log10_keyspace(),
        when the caller has it already)."""
        if keyspace is None:
            keyspace = features.log10_keyspace(password)
        form = features.shape(password)
        keys = features.hashed_keys(password, form)
        # w . (counts / |counts|): summing w over the keys with repeats is w . counts.
        norm = math.sqrt(sum(c * c for c in Counter(keys).values()))
        total = self.intercept + float(self.weights[keys].sum(dtype=np.float64)) / norm
        for w, m, x in zip(self.dense_weights, self.dense_mean,
                           features.dense(password, form, keyspace), strict=True):
            total += w * (x - m)
        return min(max(total, 0.0), keyspace)

    def to_bytes(self) -> bytes:
        header = {
            "dense_mean": list(self.dense_mean),
            "dense_names": list(features.DENSE_NAMES),
            "dense_weights": list(self.dense_weights),
            "diceware": sorted(self.diceware),
            "english": self.english,  # sort_keys orders it
            "intercept": self.intercept,
            "meta": self.meta,
            "n_hashed": features.N_HASHED,
            "ngram_sizes": list(features.NGRAM_SIZES),
            "shape_ngram_sizes": list(features.SHAPE_NGRAM_SIZES),
            "target_cap": self.target_cap,
        }
        line = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        return MAGIC + line + self.weights.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        if not data.startswith(MAGIC):
            raise ModelError("not a password-strength model file")
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC):end])
        expected = (features.N_HASHED, list(features.NGRAM_SIZES),
                    list(features.SHAPE_NGRAM_SIZES), list(features.DENSE_NAMES))
        found = (header["n_hashed"], header["ngram_sizes"], header["shape_ngram_sizes"],
                 header["dense_names"])
        if found != expected:
            raise ModelError("model file was trained with different features; retrain it")
        weights = np.frombuffer(data[end + 1:], dtype="<f4").astype(np.float32)
        if weights.shape != (features.N_HASHED,):
            raise ModelError("model file is truncated")
        return cls(weights=weights, dense_weights=tuple(header["dense_weights"]),
                   dense_mean=tuple(header["dense_mean"]), intercept=header["intercept"],
                   target_cap=header["target_cap"], meta=header["meta"],
                   diceware=frozenset(header.get("diceware", ())),
                   english={str(w): int(r) for w, r in header.get("english", {}).items()},
                   sha256=hashlib.sha256(data).hexdigest())


def save(model: Model, path: Path) -> str:
    """Write atomically; return the file's sha256."""
    data = model.to_bytes()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def load(path: Path | None = None) -> Model:
    if path is None:
        env = os.environ.get(ENV_MODEL)
        if not env:
            raise ModelError(f"no model file: set {ENV_MODEL} or pass --model")
        path = Path(env)
    try:
        return Model.from_bytes(path.read_bytes())
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
