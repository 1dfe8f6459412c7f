"""The generated password-strength stubs, imported in one place.

They are generated from `protos/` (the image's deps stage, or the tests' conftest) rather than
committed, so the shared proto stays the single source of truth.
"""

from __future__ import annotations

try:
    from passwordstrength.v1 import password_strength_pb2 as pb2
    from passwordstrength.v1 import password_strength_pb2_grpc as pb2_grpc
except ImportError as exc:  # pragma: no cover - a packaging error, not a runtime condition
    raise ImportError(
        "password-strength stubs are missing: generate them from protos/ with grpc_tools.protoc "
        "(see protos/README.md) and put the output on sys.path"
    ) from exc

__all__ = ["pb2", "pb2_grpc"]
