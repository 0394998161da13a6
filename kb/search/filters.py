"""What a search may be asked: filters on documents, and the checks of a query, k and grouping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..text.scripts import HAN_RUN
from ..text.segment import cut

BY = ("incident", "document")
SCOPES = ("in", "out", "unsure")  # incidents.scope (kb.incidents.scope); None or "all": every incident
MAX_K = 1000  # results one search returns at most
MAX_QUERY_CHARS = 2000
MAX_QUERY_WORDS = 200  # Latin words and segmented Chinese words, repeats counted: bounds a query's cost
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")


@dataclass
class Filters:
    kind: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None
    scope: str | None = None  # documents of incidents of this scope; the CLI and the web default to "in"

    def __post_init__(self) -> None:
        if self.scope == "all":
            self.scope = None
        if self.scope is not None and self.scope not in SCOPES:
            raise InvalidInput(f"unknown scope {self.scope!r}: choose one of {', '.join(SCOPES)} or all")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                value = value.strip()
                if not _DATE.fullmatch(value):
                    raise InvalidInput(f"{name} {getattr(self, name)!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
                setattr(self, name, value)
        if self.since and self.until and self.since[:len(self.until)] > self.until:
            raise InvalidInput(f"since {self.since} is after until {self.until}")

    def sql(self, alias: str = "d") -> tuple[str, list[Any]]:
        """A WHERE fragment (starting with AND) and its parameters."""
        parts, params = [], []
        for column in ("kind", "source", "language"):
            value = getattr(self, column)
            if value:
                parts.append(f"{alias}.{column} = ?")
                params.append(value)
        if self.since:
            parts.append(f"{alias}.published >= ?")
            params.append(self.since)
        if self.until:  # '2020' keeps every date within 2020
            parts.append(f"{alias}.published <= ? || '~'")
            params.append(self.until)
        if self.scope:
            parts.append(f"{alias}.id IN (SELECT l.document_id FROM incident_documents l "
                         "JOIN incidents i ON i.id = l.incident_id WHERE i.scope = ?)")
            params.append(self.scope)
        return "".join(f" AND {p}" for p in parts), params


def check_query(query: str) -> str:
    """The query stripped, or a clear error when there is nothing to search for."""
    query = (query or "").strip()
    if not query:
        raise InvalidInput("empty query: type what happened, e.g. 'intern sabotaged model training'")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query too long ({len(query)} characters; at most {MAX_QUERY_CHARS})")
    if not _WORD.search(query):
        raise InvalidInput(f"nothing to search for in {query!r}: use words")
    words = len(_WORD.findall(HAN_RUN.sub(" ", query))) + sum(len(cut(run)) for run in HAN_RUN.findall(query))
    if words > MAX_QUERY_WORDS:
        raise InvalidInput(f"query too long ({words} words; at most {MAX_QUERY_WORDS})")
    return query


def check_k(k: Any) -> int:
    """`k` as an int in 1..MAX_K, or a clear error."""
    value = None
    if isinstance(k, float):
        value = int(k) if k.is_integer() else None
    elif isinstance(k, (int, str)) and not isinstance(k, bool):
        try:
            value = int(str(k).strip())
        except ValueError:
            pass
    if value is None or not 1 <= value <= MAX_K:
        raise InvalidInput(f"k must be a whole number between 1 and {MAX_K}, not {k!r}")
    return value


def check_by(by: str) -> str:
    """`by` if it is a grouping of results ("incident" or "document"), else a clear error."""
    if by not in BY:
        raise InvalidInput(f"unknown grouping {by!r}: choose one of {', '.join(BY)}")
    return by
