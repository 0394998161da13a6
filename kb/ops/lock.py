"""One `kb update` at a time: an exclusive lock file beside the database (kb.storage.files.exclusive).

The lock is an OS advisory lock (flock), so the kernel drops it when the
holder exits, however it exits: a `kill -9` never leaves a stale lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import settings
from ..storage import files


class Locked(Exception):
    """Another process holds the lock."""


def lock_path(db_path: str | Path) -> Path:
    return settings.paths(db_path).lock


@contextmanager
def exclusive(db_path: str | Path) -> Iterator[None]:
    """Hold the database's update lock, or raise Locked at once."""
    path = lock_path(db_path)
    try:
        with files.exclusive(path, wait=False):
            yield
    except files.Busy as exc:
        raise Locked(f"another kb update is running (pid {exc.holder}; lock {path})") from None
