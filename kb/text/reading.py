"""Reading a file with a size cap (a `.gz` decompressed as it is read)."""

from __future__ import annotations

import gzip
import zlib

from ..errors import KBError


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
