"""Make the gateway importable on the host: its src/ and stubs generated from protos/.

The stubs go to a temporary directory so nothing generated lands in the repository. Inside
the unit-test image there is no protos/ (the stubs are already installed in the venv).
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1]
PROTO = Path("passwordstrength/v1/password_strength.proto")


def _repo_protos() -> Path | None:
    for parent in SERVICE.parents:
        if (parent / "protos" / PROTO).is_file():
            return parent / "protos"
    return None


def _generate_stubs(protos: Path) -> Path:
    from grpc_tools import protoc  # host-only: the runtime image does not ship grpcio-tools

    out = Path(tempfile.mkdtemp(prefix="gateway-stubs-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    include = Path(protoc.__file__).parent / "_proto"  # well-known types
    status = protoc.main(["grpc_tools.protoc", f"-I{protos}", f"-I{include}",
                          f"--python_out={out}", f"--grpc_python_out={out}", str(protos / PROTO)])
    if status != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {protos / PROTO} (exit {status})")
    return out


def _setup_paths() -> None:
    for path in (SERVICE / "src", SERVICE / "tests"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    protos = _repo_protos()
    if protos is not None and importlib.util.find_spec("grpc_tools") is not None:
        sys.path.insert(0, str(_generate_stubs(protos)))


_setup_paths()
