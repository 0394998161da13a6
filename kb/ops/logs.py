"""Logging for unattended runs: a rotating file beside the database, and stderr."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from .. import settings

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_file(db_path: str | Path) -> Path:
    return settings.paths(db_path).log


def setup(db_path: str | Path, max_bytes: int = 5 * 2**20, backups: int = 5) -> logging.Logger:
    """The `kb` logger, writing to db/kb.log (rotated) and to stderr."""
    logger = logging.getLogger("kb")
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    path = log_file(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                                   encoding="utf-8")
    to_stderr = logging.StreamHandler()
    for handler in (to_file, to_stderr):
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    logger.propagate = False
    return logger
