"""Crash-safe file writes: a temp file in the same directory, fsync, os.replace, fsync the dir.

After a crash (even kill -9) the file holds either its old or its new content, never a mix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    sync_directory(target.parent)


def write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename durable: fsync the directory that holds the entry."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
