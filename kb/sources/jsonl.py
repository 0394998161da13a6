"""Read what `kb export --format jsonl` wrote: incidents, documents with links, cases, each
checked before anything is written (kb.storage.restore writes them back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..errors import KBError
from ..records import AMOUNT_KINDS, check_numbers
from ..text.reading import regular_file

_REQUIRED = {"incident": ("key",), "document": ("source", "external_id", "kind", "text"), "case": ()}
_NESTED = {"meta", "manual_fields", "incidents", "document", "amounts"}  # the only fields that are not plain values


MAX_LINE_CHARS = 16 * 1024 * 1024  # one record: a document's text is capped at 5 MB when it is added


def read(path: str | Path) -> Iterator[dict]:
    """The objects of a JSON-lines file, one at a time (the file is never held whole); a bad
    line is a clear error."""
    try:
        with open(regular_file(path), encoding="utf-8") as fh:
            for number, line in enumerate(iter(lambda: fh.readline(MAX_LINE_CHARS + 1), ""), start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise KBError(f"{path}:{number}: a line longer than {MAX_LINE_CHARS // 2**20} MB: refused")
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    check_record(record)
                except (ValueError, RecursionError) as exc:
                    raise KBError(f"{path}:{number}: {exc}"[:300]) from None
                yield record
    except UnicodeDecodeError as exc:
        raise KBError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror or exc}") from None


def check_record(record) -> None:
    """ValueError unless `record` is an object `load` can write (types, required fields, numbers)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, not {type(record).__name__}")
    kind = record.get("type")
    if kind not in _REQUIRED:
        raise ValueError(f"unknown record type {kind!r}"[:100])
    for name in _REQUIRED[kind]:
        if not isinstance(record.get(name), str) or (name != "text" and not record[name].strip()):
            raise ValueError(f"{kind} without {name} (a non-empty string)")
    for name, value in record.items():
        if name not in _NESTED and isinstance(value, (dict, list)):
            raise ValueError(f"{kind} field {name!r} must be a plain value, not {type(value).__name__}")
    for amount in record.get("amounts") or []:
        if not isinstance(amount, dict) or amount.get("kind") not in AMOUNT_KINDS or \
                not isinstance(amount.get("amount"), (int, float)) or isinstance(amount.get("amount"), bool):
            raise ValueError(f"{kind} amounts must be objects with a kind ({', '.join(AMOUNT_KINDS)}) and a number")
    if not isinstance(record.get("meta") or {}, dict) or not isinstance(record.get("document") or {}, dict):
        raise ValueError(f"{kind}: meta and document must be objects")
    links = record.get("incidents") or []
    if not isinstance(links, list) or not all(
            isinstance(r, dict) and isinstance(r.get("incident"), str)
            and isinstance(r.get("confidence", 1.0), (int, float)) and isinstance(r.get("method", ""), str)
            and isinstance(r.get("evidence", []), list) and all(isinstance(e, str) for e in r.get("evidence", []))
            for r in links):
        raise ValueError(f"{kind}: incidents must be a list of {{incident, confidence, method, evidence}}")
    if kind == "incident" and record.get("merged_into") is not None and not isinstance(record["merged_into"], str):
        raise ValueError("incident: merged_into must be an incident key")
    check_numbers(record)
