"""Reading a file with a size cap (a `.gz` decompressed as it is read)."""

from __future__ import annotations

import gzip
import stat
import zlib
from pathlib import Path

from ..errors import InvalidInput, KBError, NotFound

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def regular_file(path: str | Path) -> Path:
    """`path`, after the check that it is a regular file (or a link to one): NotFound when nothing
    is there, InvalidInput for a folder, pipe, device or socket (reading one could block or never end)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NotFound(f"no such file: {path}") from None
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror or exc}") from None
    for test, kind in _KINDS:
        if test(mode):
            raise InvalidInput(f"{path} is {kind}, not a file")
    return path


def read_bounded(path, limit: int) -> bytes:
    """A file's bytes, a `.gz` decompressed as it is read; KBError past `limit` bytes or if unreadable."""
    gz = str(path).lower().endswith(".gz")
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise KBError(f"cannot read {path}: {exc}") from None
    if len(data) > limit:
        raise KBError(f"{path} is larger than {limit / 1e6:g} MB{' once decompressed' if gz else ''}: "
                      "refused (split it into smaller files)")
    return data
