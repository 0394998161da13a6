"""Dates as pages write them, to ISO 8601.

    normalise_date("2024年11月29日")  -> "2024-11-29"
"""

from __future__ import annotations

import datetime as dt
import re

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2}))?")


def normalise_date(value) -> str | None:
    """'2024-11-29', '2024/11/29', '2024年11月29日', ISO timestamps, '2024.11', '2024'
    -> 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'; None when there is no possible date."""
    text = str(value or "")
    for m in _DATE.finditer(text):
        year, month, day = (int(g) if g else None for g in m.groups())
        try:
            dt.date(year, month, day or 1)
        except ValueError:
            continue
        return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
    m = re.fullmatch(r"\s*(\d{4})\s*", text)
    return m.group(1) if m else None


def full_date(value) -> str | None:
    """'YYYY-MM-DD' when `value` names a whole day (see `normalise_date`), else None."""
    found = normalise_date(value)
    return found if found and len(found) == 10 else None


def epoch_date(value, tz: dt.tzinfo = dt.timezone.utc) -> str | None:
    """'YYYY-MM-DD' in `tz` from epoch seconds given as int or digits; None otherwise."""
    text = str(value or "").strip()
    if not re.fullmatch(r"-?\d{1,11}", text):
        return None
    return dt.datetime.fromtimestamp(int(text), tz).date().isoformat()
