"""Export files written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from ..errors import InvalidInput, KBError


@contextmanager
def atomic_file(path: str | Path) -> Iterator[TextIO]:
    """A text file written beside `path` and moved over it only when complete (KBError if it cannot be)."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} for {path.name}: create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KBError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, path)
    except OSError as exc:
        raise KBError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
