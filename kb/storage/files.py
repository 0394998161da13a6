"""Files beside the database (the vector index, exports) written whole or not at all, and the OS
locks that keep one writer at a time."""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from ..errors import CannotWrite, InvalidInput


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside `path`, named for this writer alone: what the block writes there
    is synced and moved over `path` when the block ends. Any OSError is CannotWrite, and the
    temporary file is removed whatever happens."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} for {path.name}: create it first")
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CannotWrite(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        os.close(fd)
        os.chmod(tmp, 0o644)
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise CannotWrite(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """`path` opened for writing (mode "w": UTF-8 text, "wb": bytes) through `atomic_path`."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else "utf-8") as handle:
        yield handle


class Busy(Exception):
    """Another process holds the lock; `holder` is the process id it wrote there."""

    def __init__(self, holder: str):
        super().__init__(f"held by process {holder}")
        self.holder = holder


@contextmanager
def exclusive(path: str | Path, wait: bool = True) -> Iterator[None]:
    """Hold the OS lock (flock) of the file `path`, writing this process's id in it; the kernel
    drops it when the holder exits, however it exits, so a `kill -9` never leaves a stale lock.
    Waits for another holder, or with `wait=False` raises Busy at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Busy(os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def held(path: str | Path) -> bool:
    """Whether another process holds the lock of `exclusive(path)` now (False when there is no
    such file). Asks with a shared lock, dropped at once, on a read-only descriptor: works on a
    read-only disk and never blocks."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
