"""The curated starter set bundled with the package (kb/data/starter.json).

Each curated incident becomes one English document and, where the entry has
a Chinese summary, one Chinese document, both linked to the incident and its
court cases. They are marked curated: verify details against the sources.
`kb import starter` stores them in bulk; as a source (`kb scrape starter`, off
by default) it does the same in a recorded run.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Iterable, Iterator

from ..extract.case_names import named_case
from ..records import CaseRecord, DocumentRecord, IncidentRecord
from .sdk import Output, Scraper

_INCIDENT_FIELDS = set(IncidentRecord.__dataclass_fields__) - {"key", "curated", "year", "action", "motive", "impact_records"}
_CASE_FIELDS = set(CaseRecord.__dataclass_fields__)


def load() -> dict:
    """The starter set as stored in the package."""
    return json.loads(resources.files("kb").joinpath("data/starter.json").read_text(encoding="utf-8"))


def iter_records() -> Iterator[DocumentRecord]:
    """Documents (English, and Chinese where present) for every curated incident."""
    for entry in load()["incidents"]:
        incident = IncidentRecord(
            key=f"starter:{entry['key']}",
            curated=True,
            year=_year(entry.get("date_start") or entry.get("date_reported")),
            **{k: entry.get(k) for k in _INCIDENT_FIELDS},
        )
        cases = [named_case(CaseRecord(**{k: c.get(k) for k in _CASE_FIELDS}), entry.get("organisation"),
                            entry.get("insider_name"), entry.get("country")) for c in entry.get("cases", [])]
        sources = entry.get("sources") or []
        url = sources[0]["url"] if sources else None
        published = entry.get("date_reported") or entry.get("date_start")
        meta = {"sources": sources}
        yield DocumentRecord(
            source="starter", external_id=entry["key"], kind="curated",
            title=entry["title"], text=_english_text(entry), url=url,
            published=published, language="en", curated=True, meta=meta,
            incident=incident, cases=cases, amounts=entry.get("amounts") or [],
        )
        if entry.get("summary_zh"):
            yield DocumentRecord(
                source="starter", external_id=f"{entry['key']}#zh", kind="curated",
                title=entry.get("title_zh") or entry["title"], text=_chinese_text(entry),
                url=url, published=published, language="zh", curated=True, meta=meta,
                incident=incident,
            )


def _year(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None


def _english_text(e: dict) -> str:
    facts = [
        ("Organisation", e.get("organisation")), ("Sector", e.get("sector")),
        ("Country", e.get("country")), ("Insider", e.get("insider_name")),
        ("Insider role", (e.get("insider_role") or "").replace("_", " ")),
        ("Incident type", (e.get("incident_type") or "").replace("_", " ")),
        ("What", e.get("incident_subtype")), ("When", e.get("date_start")),
        ("Impact", e.get("impact_description")), ("Outcome", e.get("outcome")),
    ]
    for case in e.get("cases", []):
        facts.append(("Court", " ".join(x for x in (case.get("court"), case.get("case_number")) if x)))
    return e["summary"].strip() + "\n\n" + "\n".join(f"{k}: {v}" for k, v in facts if v)


def _chinese_text(e: dict) -> str:
    facts = [("机构", e.get("organisation_zh") or e.get("organisation")), ("当事人", e.get("insider_name")),
             ("结果", e.get("outcome"))]
    for case in e.get("cases", []):
        facts.append(("法院", " ".join(x for x in (case.get("court"), case.get("case_number")) if x)))
    return e["summary_zh"].strip() + "\n\n" + "\n".join(f"{k}：{v}" for k, v in facts if v)


class StarterScraper(Scraper):
    name = "starter"
    kind = "dataset"
    description = "The curated starter set bundled with kb"
    defaults = {"enabled": False, "interval_hours": 24 * 30}

    def start(self) -> Iterable[Output]:
        yield from iter_records()
