"""The bytes of a gRPC request given as JSON, without generated code.

The request type comes from the service's server reflection, or else from the `.proto`
files of the workspace (compiled to a descriptor set with grpc_tools' protoc).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor

from conveyor.errors import ConfigError, ConveyorError
from conveyor.util import proc


def request_bytes(address: str, method: str, payload: str,
                  proto_roots: Sequence[Path] = ()) -> bytes:
    """`payload` (JSON) encoded as the request message of `method` (/pkg.Service/Method)."""
    descriptor = _by_reflection(address, method) or _from_protos(method, proto_roots)
    if descriptor is None:
        raise ConveyorError(f"cannot describe {method}: the service has no server reflection "
                            "and no .proto in the pipeline's paths declares it")
    message = message_factory.GetMessageClass(descriptor.input_type)()
    try:
        json_format.Parse(payload or "{}", message)
    except json_format.ParseError as exc:
        raise ConfigError(f"performance.payload does not fit {method}: {exc}") from None
    data: bytes = message.SerializeToString()
    return data


def _find(pool: descriptor_pool.DescriptorPool, method: str) -> MethodDescriptor | None:
    service, _, name = method.strip("/").partition("/")
    try:
        found: MethodDescriptor | None = pool.FindServiceByName(service).FindMethodByName(name)
        return found
    except (KeyError, grpc.RpcError):
        return None


def _by_reflection(address: str, method: str) -> MethodDescriptor | None:
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    channel = grpc.insecure_channel(address)
    try:
        return _find(descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel)),
                     method)
    finally:
        channel.close()


def _from_protos(method: str, roots: Sequence[Path]) -> MethodDescriptor | None:
    files = [p for root in roots if root.is_dir() for p in sorted(root.rglob("*.proto"))]
    if not files:
        return None
    with tempfile.TemporaryDirectory(prefix="conveyor-protos-") as scratch:
        out = Path(scratch) / "set.pb"
        includes = [f"-I{root}" for root in roots if root.is_dir()]
        proc.run([sys.executable, "-m", "grpc_tools.protoc", *includes, "--include_imports",
                  f"--descriptor_set_out={out}", *map(str, files)], timeout=60)
        descriptors = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in descriptors.file:
        pool.Add(file)
    return _find(pool, method)
