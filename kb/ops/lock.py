"""One `kb update` at a time: an exclusive lock file beside the database.

The lock is an OS advisory lock (flock), so the kernel drops it when the
holder exits, however it exits: a `kill -9` never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import settings


class Locked(Exception):
    """Another process holds the lock."""


def lock_path(db_path: str | Path) -> Path:
    return settings.paths(db_path).lock


@contextmanager
def exclusive(db_path: str | Path) -> Iterator[None]:
    """Hold the database's update lock, or raise Locked at once."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise Locked(f"another kb update is running (pid {holder}; lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
