"""Incident fields and court cases derived from a document's facts; writing incidents."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import sqlite_utils

from ..extract.aliases import Aliases, home_country
from ..extract.case_names import named_case
from ..extract.entity import Entity
from ..extract.names import courts, insider_role, normalise_case_number, organisations
from ..records import CaseRecord, IncidentRecord
from ..storage.entities import Fact, mentions
from ..storage.store import document_fields, link, save_case, save_incident
from ..text.scripts import HAN

EDITABLE = (
    "title", "title_zh", "summary", "summary_zh", "organisation", "sector", "country", "insider_name",
    "insider_role", "employment_type", "incident_type", "incident_subtype", "action", "motive",
    "date_start", "date_end", "date_reported", "year", "impact_amount", "impact_currency",
    "impact_records", "impact_description", "outcome",
)
_EMPLOYMENT = {"intern": "Intern", "contractor": "Contractor", "employee": "Regular Employment",
               "former_employee": "Regular Employment"}


def canonical_organisation(name: str, aliases: Aliases) -> str:
    """'ByteDance (TikTok)' → 'ByteDance'; unknown names stay as given."""
    found = organisations(name, aliases)
    return found[0].name if found else name


def canonical_court(court: str, aliases: Aliases) -> str:
    found = courts(court, aliases)
    return found[0].name if found else court


# --- writing incidents ----------------------------------------------------------

def create_incident(db: sqlite_utils.Database, doc_id: int, aliases: Aliases,
                    key: str | None = None, method: str = "auto") -> int:
    """A new incident filled from one document's facts, linked to it, with its court cases."""
    doc = document_fields(db, doc_id)
    facts = mentions(db, [doc_id]).get(doc_id, [])
    values = incident_fields(facts, doc)
    inc_id = save_incident(db, IncidentRecord(key=key or f"auto:d{doc_id}", **values))
    link(db, inc_id, doc_id, confidence=1.0, method=method)
    for case in case_records(facts, doc, aliases):
        save_case(db, case, document_id=doc_id, incident_id=inc_id)
    return inc_id


def attach(db: sqlite_utils.Database, doc_id: int, inc_id: int, score: float, aliases: Aliases) -> None:
    """Link a document to an incident; fill the incident's empty fields and add new cases."""
    link(db, inc_id, doc_id, confidence=min(1.0, score), method="auto")
    doc = document_fields(db, doc_id)
    facts = mentions(db, [doc_id]).get(doc_id, [])
    fill_empty_fields(db, inc_id, incident_fields(facts, doc))
    known = db.execute("SELECT court, case_number FROM cases WHERE incident_id = ?", [inc_id]).fetchall()
    courts = {canonical_court(c, aliases) for c, _ in known if c}
    numbers = {normalise_case_number(n) for _, n in known if n}
    for case in case_records(facts, doc, aliases):
        if (case.case_number and normalise_case_number(case.case_number) in numbers) or (
                not case.case_number and case.court in courts):
            continue
        save_case(db, case, document_id=doc_id, incident_id=inc_id)


def fill_empty_fields(db: sqlite_utils.Database, inc_id: int, values: dict) -> None:
    """Set fields that are empty and not edited by hand."""
    manual = set(json.loads(db.execute("SELECT manual_fields FROM incidents WHERE id = ?", [inc_id]).fetchone()[0]
                            or "[]"))
    values = {k: v for k, v in values.items() if v is not None and k not in manual and k != "title"}
    if values:
        sets = ", ".join(f"{k} = coalesce({k}, :{k})" for k in values)
        db.execute(f"UPDATE incidents SET {sets} WHERE id = :id", {**values, "id": inc_id})


def incident_fields(facts: list[Fact], doc: dict) -> dict:
    """IIDES-style incident fields from a document's facts (claims, rumours and the like left out)."""
    facts = stated(facts)
    by_kind: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        by_kind[f.kind].append(f)
    orgs = Counter(f.name for f in by_kind["organisation"])
    organisation = orgs.most_common(1)[0][0] if orgs else None
    role = insider_role([Entity("role", f.name, "", 0, 0) for f in by_kind["role"]])
    itype = by_kind["incident_type"][0] if by_kind["incident_type"] else None
    period = _labelled(by_kind["date"], "incident")
    start, _, end = (period.name.partition("/") if period else (None, "", None))
    published = doc.get("published")
    year = (start or published or "")[:4]
    summary = _first_paragraph(doc.get("text") or "")
    chinese = doc.get("language") == "zh"
    return {
        "title": doc.get("title"),
        "title_zh": doc.get("title") if chinese else None,
        "summary": summary,
        "summary_zh": summary if chinese else None,
        "organisation": organisation,
        "country": _country(facts, organisation),
        "insider_name": by_kind["person"][0].name if by_kind["person"] else None,
        "insider_role": role,
        "employment_type": _EMPLOYMENT.get(role),
        "incident_type": itype.name if itype else None,
        "incident_subtype": itype.value if itype else None,
        "date_start": start or None,
        "date_end": end or None,
        "date_reported": published,
        "year": int(year) if year.isdigit() else None,
        "impact_description": "; ".join(f"{f.label or 'amount'} {_money_text(f.name)}"
                                        for f in _unique(by_kind["money"])) or None,
        "outcome": _outcome(by_kind["date"], doc.get("text") or ""),
    }


def case_records(facts: list[Fact], doc: dict, aliases: Aliases) -> list[CaseRecord]:
    """Court cases a document reports: one per case number, or one for a named court."""
    facts = stated(facts)
    courts = [f.name for f in facts if f.kind == "court"]
    numbers = list(dict.fromkeys(f.name for f in facts if f.kind == "case_number"))
    if not courts and not numbers:
        return []
    text = doc.get("text") or ""
    filed = _labelled([f for f in facts if f.kind == "date"], "case")
    money = [f for f in facts if f.kind == "money"]
    claims = [f"{f.label} {_money_text(f.name)}" for f in _unique(money) if f.label in ("claim", "costs")]
    if re.search(r"赔礼道歉|public apology", text, re.I):
        claims.append("public apology")
    base = dict(
        court=courts[0] if courts else None,
        filed=filed.name.split("/")[0] if filed else None,
        status="accepted" if re.search(r"受理|accepted the case", text) else "filed" if filed else None,
        claims="; ".join(claims) or None,
    )
    case_type = _case_type(facts, text)
    kinds = {f.name: f.value for f in facts if f.kind == "case_number"}
    found = [CaseRecord(case_number=n, case_type=kinds.get(n) or case_type, **base) for n in numbers] \
        or [CaseRecord(case_type=case_type, **base)]
    orgs = Counter(f.name for f in facts if f.kind == "organisation")
    organisation = orgs.most_common(1)[0][0] if orgs else None
    insider = next((f.name for f in facts if f.kind == "person"), None)
    return [named_case(case, organisation, insider, _country(facts, organisation)) for case in found]


def stated(facts: list[Fact]) -> list[Fact]:
    """Facts stated as fact: not claimed, denied, hypothetical or rumoured; no past employers."""
    return [f for f in facts if f.status == "fact" and f.label != "past_employer"]


def _case_type(facts: list[Fact], text: str) -> str | None:
    if any(f.kind == "statute" and f.value == "cause of action" for f in facts):
        return "civil"
    if re.search(r"刑事|公诉|判处|\bindicted\b|\bcharged with\b|\bsentenced\b|pleaded guilty|\bprosecut", text, re.I):
        return "criminal"
    if re.search(r"民事|纠纷|起诉|\bsued\b|\blawsuit\b|\bcivil\b", text, re.I):
        return "civil"
    return None


def _labelled(facts: list[Fact], label: str) -> Fact | None:
    return next((f for f in facts if f.label == label), None)


def _unique(facts: list[Fact]) -> list[Fact]:
    return list({(f.name, f.label): f for f in facts}.values())


def _money_text(name: str) -> str:
    amount, currency = name.split()
    return f"{float(amount):,.0f} {currency}"


def _country(facts: list[Fact], organisation: str | None) -> str | None:
    for f in facts:
        if f.kind in ("court", "case_number", "statute"):
            if re.search(f"[{HAN}]|People's Court|PRC", f"{f.name} {f.value or ''}"):
                return "CN"
            if re.search(r"U\.S\.", f.name):
                return "US"
    return home_country(organisation)


def _outcome(dates: list[Fact], text: str) -> str | None:
    parts = []
    for label, words in (("dismissal", "insider dismissed"), ("case", "lawsuit filed"),
                         ("judgment", "judgment")):
        found = _labelled(dates, label)
        if found:
            parts.append(f"{words} ({found.name})")
    if re.search(r"判处|有期徒刑|\bsentenced to\b", text, re.I) and not _labelled(dates, "judgment"):
        parts.append("sentenced")
    return "; ".join(parts) or None


def _first_paragraph(text: str, limit: int = 500) -> str | None:
    para = next((p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 40), text.strip())
    return para[:limit] or None

