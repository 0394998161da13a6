"""The records that scrapers and importers hand to the store.

Scrapers and importers never touch the database: they return these, and
`kb.storage.store` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

DOCUMENT_KINDS = ("news", "court", "press_release", "dataset", "curated", "user")
INSIDER_ROLES = ("employee", "intern", "contractor", "former_employee", "unknown")
AMOUNT_KINDS = ("claimed", "awarded", "restitution", "fine", "settlement", "loss_reported", "loss_alleged")
LEGAL_STATUSES = ("alleged", "sued", "charged", "pleaded guilty", "convicted", "acquitted", "settled",
                  "dismissed", "pending", "liable")
INCIDENT_TYPES = ("sabotage", "ip_theft", "data_theft", "fraud", "espionage", "unintentional", "misuse")


@dataclass
class CaseRecord:
    """A court matter: criminal or civil case with its court and number."""

    court: str | None = None
    case_number: str | None = None
    case_type: str | None = None  # civil | criminal
    case_name: str | None = None
    parties: str | None = None
    filed: str | None = None
    decided: str | None = None
    terminated: str | None = None
    status: str | None = None
    claims: str | None = None
    damages_amount: float | None = None
    damages_currency: str | None = None
    url: str | None = None


@dataclass
class IncidentRecord:
    """What happened, in the IIDES-style vocabulary of `INCIDENT_TYPES` and `INSIDER_ROLES`."""

    key: str
    title: str | None = None
    title_zh: str | None = None
    summary: str | None = None
    summary_zh: str | None = None
    organisation: str | None = None
    sector: str | None = None
    country: str | None = None
    insider_name: str | None = None
    insider_role: str | None = None
    employment_type: str | None = None
    incident_type: str | None = None
    incident_subtype: str | None = None
    action: str | None = None
    motive: str | None = None
    date_start: str | None = None
    date_end: str | None = None
    date_reported: str | None = None
    year: int | None = None
    impact_amount: float | None = None
    impact_currency: str | None = None
    impact_records: int | None = None
    impact_description: str | None = None
    outcome: str | None = None
    curated: bool = False

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # flat: no asdict deep copies


@dataclass
class DocumentRecord:
    """One item as published, with its provenance.

    `incident` and `cases` are what the source itself says the document is
    about (a VCDB record, a curated entry, a docket); other documents are
    linked to incidents later by `kb.incidents`.
    """

    source: str
    external_id: str
    kind: str
    title: str | None
    text: str
    url: str | None = None
    canonical_url: str | None = None
    published: str | None = None
    language: str | None = None
    author: str | None = None
    curated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    fetched_at: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    raw_sha256: str | None = None
    raw_path: str | None = None
    incident: IncidentRecord | None = None
    cases: list[CaseRecord] = field(default_factory=list)
    amounts: list[dict[str, Any]] = field(default_factory=list)  # {kind, amount, currency, text}: AMOUNT_KINDS


def check_numbers(value: Any) -> None:
    """ValueError for a number SQLite cannot store (an integer beyond 64 bits), anywhere in `value`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not -2**63 <= item < 2**63:
            raise ValueError(f"number out of range: {str(item)[:20]}...")


def document_text(title: str | None, text: str | None) -> str:
    """A document as extraction reads it (title, blank line, text): what entity spans and
    legal-fact offsets index into."""
    return f"{title or ''}\n\n{text or ''}"
