"""What a search may be asked: filters on documents and on their incidents, and the checks of a
query, k and grouping.

Document filters (kind, source, language, published since/until) and incident filters (type,
insider role, country, sector, year or year range, scope) are both SQL on the documents (`Filters.sql`),
so every stage ranks only the documents that pass them: nothing is filtered out of a top k.
A document passes an incident filter when an incident it is linked to, read as the incident it
was finally merged into, passes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..records import INCIDENT_TYPES, INSIDER_ROLES
from ..storage.merged import documents_of_incidents
from ..text.scripts import HAN_RUN
from ..text.segment import cut

BY = ("incident", "document")
SCOPES = ("in", "out", "unsure")  # incidents.scope (kb.incidents.scope); None or "all": every incident
MAX_K = 1000  # results one search returns at most
MAX_QUERY_CHARS = 2000
MAX_QUERY_WORDS = 200  # Latin words and segmented Chinese words, repeats counted: bounds a query's cost
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
_YEARS = re.compile(r"(\d{4})(?:\s*(?:-|–|\.\.)\s*(\d{4}))?")
DOCUMENT_FILTERS = ("kind", "source", "language", "since", "until")
INCIDENT_FILTERS = ("type", "role", "country", "sector", "year")
FIELDS = DOCUMENT_FILTERS + INCIDENT_FILTERS  # the names of the filters, as the CLI, the web and watches spell them
_CHOICES = {"type": INCIDENT_TYPES, "role": INSIDER_ROLES}
_EXPECTED = {"since": "a date (YYYY, YYYY-MM or YYYY-MM-DD)", "until": "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
             "year": "a year or a range of years (YYYY or YYYY-YYYY)",
             "type": "one of " + ", ".join(INCIDENT_TYPES), "role": "one of " + ", ".join(INSIDER_ROLES)}


class BadFilter(InvalidInput):
    """A filter's value that cannot be read: says which filter, the value and what it takes.

    `str()` is the CLI's wording (`--since '2015-13' is not ...`); `reason` names the filter
    without an option's dashes, for the web page and JSON.
    """

    def __init__(self, name: str, value: str, problem: str | None = None):
        self.name, self.value = name, value
        self.reason = problem or f"{value!r} is not {_EXPECTED[name]}"
        super().__init__(f"--{name} {self.reason}")


@dataclass
class Filters:
    kind: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None
    type: str | None = None  # incident type (kb.records.INCIDENT_TYPES)
    role: str | None = None  # insider role (kb.records.INSIDER_ROLES)
    country: str | None = None  # ISO 3166 code, e.g. US, CN
    sector: str | None = None  # e.g. Healthcare (any case)
    year: str | None = None  # the incident's year: 2019, or a range 2015-2020
    scope: str | None = None  # incidents of this scope; the CLI and the web default to "in"

    def __post_init__(self) -> None:
        if self.scope == "all":
            self.scope = None
        if self.scope is not None and self.scope not in SCOPES:
            raise InvalidInput(f"unknown scope {self.scope!r}: choose one of {', '.join(SCOPES)} or all")
        for name in FIELDS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, str(value).strip() or None)
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not _DATE.fullmatch(value):
                raise BadFilter(name, value)
        if self.since and self.until and self.since[:len(self.until)] > self.until:
            raise BadFilter("since", self.since, f"{self.since} is after the until date {self.until}")
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value is not None:
                value = value.lower().replace(" ", "_").replace("-", "_")
                if value not in choices:
                    raise BadFilter(name, getattr(self, name))
                setattr(self, name, value)
        if self.country is not None:
            self.country = self.country.upper()
        if self.year is not None and self.years() is None:
            raise BadFilter("year", self.year)

    def years(self) -> tuple[int, int] | None:
        """The year filter as (first, last) years, or None when there is none (or it cannot be read)."""
        found = _YEARS.fullmatch(self.year or "")
        if not found:
            return None
        first, last = int(found[1]), int(found[2] or found[1])
        return (first, last) if first <= last else None

    def sql(self, alias: str = "d") -> tuple[str, list[Any]]:
        """A WHERE fragment (starting with AND) on the documents table as `alias`, and its parameters."""
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
        where, args = self.incident_sql()
        if where == "scope = ?" and self.scope == "in":  # documents no incident reports on yet stay in view
            parts.append(f"({alias}.id IN ({documents_of_incidents(where)}) OR {alias}.id NOT IN "
                         "(SELECT document_id FROM incident_documents))")
            params.extend(args)
        elif where:
            parts.append(f"{alias}.id IN ({documents_of_incidents(where)})")
            params.extend(args)
        return "".join(f" AND {p}" for p in parts), params

    def incident_sql(self) -> tuple[str, list[Any]]:
        """The incident filters as conditions on the incidents table (no alias), or ("", [])."""
        parts, params = [], []
        for name, column in (("type", "incident_type"), ("role", "insider_role"), ("country", "country")):
            if getattr(self, name):
                parts.append(f"{column} = ?")
                params.append(getattr(self, name))
        if self.sector:
            parts.append("sector = ? COLLATE NOCASE")
            params.append(self.sector)
        if self.year:
            parts.append("year BETWEEN ? AND ?")
            params.extend(self.years())
        if self.scope:
            parts.append("scope = ?")
            params.append(self.scope)
        return " AND ".join(parts), params

    def given(self) -> dict[str, str]:
        """The filters that are set, by name."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name)}


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
