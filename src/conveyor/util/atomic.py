"""Crash-safe file writes: a temp file in the same directory, fsync, os.replace, fsync the dir.

After a crash (even kill -9) the file holds either its old or its new content, never a mix.
The temp name is unique (pid and a counter, created with O_EXCL), so two writers, in two
processes or two threads, never write into the same temp file. Built over `os` alone: the
hook's caches use it, and pathlib or tempfile would cost a push milliseconds.
"""

from __future__ import annotations

import itertools
import os

_counter = itertools.count()
TYPE_CHECKING = False  # not typing's: importing typing costs the hook milliseconds
if TYPE_CHECKING:
    PathLike = str | os.PathLike[str]


def write_bytes(path: PathLike, data: bytes, mode: int = 0o644, durable: bool = True) -> None:
    """Replace `path` with `data`. durable=False (caches: losing one costs only time) skips
    the fsyncs, which a push would otherwise wait for; the file is still never torn."""
    target = os.fspath(path)
    directory, name = os.path.split(target)
    directory = directory or "."
    temp = os.path.join(directory, f".{name}.{os.getpid()}.{next(_counter)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)  # exactly `mode`, whatever the umask
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        sync_directory(directory)


def write_text(path: PathLike, text: str, mode: int = 0o644, durable: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), mode, durable)


def sync_directory(directory: PathLike) -> None:
    """Make a rename durable: fsync the directory that holds the entry."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
