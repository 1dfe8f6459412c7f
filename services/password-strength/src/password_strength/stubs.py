"""The generated gRPC modules for passwordstrength.v1.

Images generate them into the venv at build time. On a developer host they are generated on
first use into the git-ignored `services/password-strength/_gen/` from `protos/`.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

ENV_PROTOS = "PASSWORD_STRENGTH_PROTOS"
PROTO = "passwordstrength/v1/password_strength.proto"
_SERVICE_DIR = Path(__file__).resolve().parents[2]


def load() -> tuple[ModuleType, ModuleType]:
    """Return (password_strength_pb2, password_strength_pb2_grpc)."""
    try:
        return _import()
    except ImportError:
        pass
    out = _SERVICE_DIR / "_gen"
    generate(_protos_dir(), out)
    sys.path.insert(0, str(out))
    return _import()


def generate(protos: Path, out: Path) -> None:
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    args = ["protoc", f"-I{protos}", f"--python_out={out}", f"--grpc_python_out={out}",
            f"--pyi_out={out}", str(protos / PROTO)]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {protos / PROTO}")


def _protos_dir() -> Path:
    env = os.environ.get(ENV_PROTOS)
    return Path(env) if env else _SERVICE_DIR.parents[1] / "protos"


def _import() -> tuple[ModuleType, ModuleType]:
    pb2 = importlib.import_module("passwordstrength.v1.password_strength_pb2")
    pb2_grpc = importlib.import_module("passwordstrength.v1.password_strength_pb2_grpc")
    return pb2, pb2_grpc
