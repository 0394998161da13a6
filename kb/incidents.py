"""Link documents to incidents, and let people correct the machine.

`link_documents(db, doc_ids)` runs after documents are stored: it extracts
each document's entities (kb.entities), then links every document that has
no incident yet to the best-matching incident, or creates one from the
document's facts. Matching uses shared entities (organisation after alias
normalisation, person, case number, court, amounts, role, type), dates,
text overlap and, when documents are embedded, vector similarity.

Links have a method: 'source' (the source says so: VCDB, starter set),
'manual' (a person decided) or 'auto' (this module). Only 'auto' links are
ever redone; documents with a source or manual link are never re-clustered.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import sqlite_utils

from . import entities as ent
from .db import KBError
from .records import CaseRecord, IncidentRecord
from .store import batches, link, now_iso, save_case, save_incident, transaction

THRESHOLD = 0.6  # a document joins an incident at this score or above
MAX_CANDIDATES = 200
ANCHORS = ("organisation", "person", "case_number", "court")
EDITABLE = (
    "title", "title_zh", "summary", "summary_zh", "organisation", "sector", "country", "insider_name",
    "insider_role", "employment_type", "incident_type", "incident_subtype", "action", "motive",
    "date_start", "date_end", "date_reported", "year", "impact_amount", "impact_currency",
    "impact_records", "impact_description", "outcome",
)
_NUMERIC = {"year": int, "impact_records": int, "impact_amount": float}
_EMPLOYMENT = {"intern": "Intern", "contractor": "Contractor", "employee": "Regular Employment",
               "former_employee": "Regular Employment"}
_BATCH = 900  # ids per IN (...) list


@dataclass
class Fact:
    """One stored entity mention of a document."""

    kind: str
    name: str
    value: str | None
    label: str | None


@dataclass
class Profile:
    """What a document, or all documents of an incident, say: the matching evidence."""

    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    months: set[str] = field(default_factory=set)
    published: set[date] = field(default_factory=set)
    shingles: list[set[int]] = field(default_factory=list)
    doc_ids: list[int] = field(default_factory=list)


@dataclass
class Match:
    incident_id: int
    score: float
    reasons: list[str]


# --- entry points ---------------------------------------------------------------

def link_documents(db: sqlite_utils.Database, doc_ids: Iterable[int], create: bool = True) -> dict[str, int]:
    """Extract entities of `doc_ids` and link each unlinked one to an incident.

    `create=False` only links to existing incidents. Returns counts.
    """
    doc_ids = sorted(set(doc_ids))
    aliases = ent.load_aliases(db)
    for chunk in batches(doc_ids, 500):  # short write transactions: readers and writers wait less
        with transaction(db):
            extract_documents(db, chunk, aliases)
            _apply_manual_decisions(db, chunk)
    pending = [d for d in doc_ids if not _linked(db, d)]
    counts = {"documents": len(doc_ids), "linked": 0, "created": 0}
    if not pending:
        return counts
    matcher = Matcher(db, aliases)
    for doc_id in pending:
        with transaction(db):
            match = matcher.best(doc_id)
            if match and match.score >= THRESHOLD:
                attach(db, doc_id, match.incident_id, match.score, aliases)
                counts["linked"] += 1
            elif create:
                create_incident(db, doc_id, aliases)
                counts["created"] += 1
    return counts


def relink(db: sqlite_utils.Database) -> dict[str, int | float]:
    """Redo every machine decision (entities, auto links); keep source and manual ones."""
    started = time.perf_counter()
    with transaction(db):
        db.execute("DELETE FROM incident_documents WHERE method = 'auto'")
        _drop_empty_auto_incidents(db)
    ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    counts = link_documents(db, ids)
    return {**counts, "seconds": round(time.perf_counter() - started, 2)}


def extract_documents(db: sqlite_utils.Database, doc_ids: list[int], aliases: ent.Aliases) -> None:
    """Extract and store the entities of each document."""
    cache: dict = {}
    for chunk in batches(doc_ids, _BATCH):
        rows = db.execute(
            f"SELECT id, title, text, published FROM documents WHERE id IN ({_marks(chunk)})", chunk).fetchall()
        for doc_id, title, text, published in rows:
            ent.save_entities(db, doc_id, ent.extract(title, text, aliases, published), cache)


# --- matching -------------------------------------------------------------------

class Matcher:
    """Finds the incident a document belongs to; caches shingles and vectors for one run."""

    def __init__(self, db: sqlite_utils.Database, aliases: ent.Aliases):
        self.db = db
        self.aliases = aliases
        self._shingles: dict[int, set[int]] = {}
        self._published: dict[int, date | None] = {}
        self._text_index: dict[int, list[int]] | None = None
        self.vectors = _document_vectors(db)

    def best(self, doc_id: int) -> Match | None:
        doc = self.profile([doc_id])
        best = None
        for inc_id in self.candidates(doc_id, doc):
            score, reasons = score_match(doc, self.incident_profile(inc_id), self.similarity(doc_id, inc_id))
            if best is None or score > best.score:
                best = Match(inc_id, score, reasons)
        return best

    def candidates(self, doc_id: int, doc: Profile) -> list[int]:
        """Incidents sharing an anchor entity, named after one of the document's organisations,
        or holding a near neighbour by embedding."""
        found: list[int] = []
        anchor_ids = [r[0] for r in self.db.execute(
            f"SELECT DISTINCT entity_id FROM document_entities de JOIN entities e ON e.id = de.entity_id "
            f"WHERE de.document_id = ? AND e.kind IN ({_marks(ANCHORS)})", [doc_id, *ANCHORS])]
        if anchor_ids:
            found += [r[0] for r in self.db.execute(
                "SELECT l.incident_id FROM document_entities de "
                "JOIN incident_documents l ON l.document_id = de.document_id "
                "JOIN incidents i ON i.id = l.incident_id AND i.merged_into IS NULL "
                f"WHERE de.entity_id IN ({_marks(anchor_ids)}) AND de.document_id != ? "
                "GROUP BY l.incident_id ORDER BY count(DISTINCT de.entity_id) DESC LIMIT ?",
                [*anchor_ids, doc_id, MAX_CANDIDATES])]
        names = sorted(self._org_spellings(doc.names["organisation"]))
        if names:
            found += [r[0] for r in self.db.execute(
                f"SELECT id FROM incidents WHERE merged_into IS NULL AND lower(organisation) IN ({_marks(names)}) "
                "ORDER BY id DESC LIMIT ?", [*names, MAX_CANDIDATES])]
        found += self._neighbour_incidents(doc_id)
        found += self._overlapping_text_incidents(doc_id)
        return list(dict.fromkeys(found))

    def _overlapping_text_incidents(self, doc_id: int, k: int = 10, min_shared: int = 5) -> list[int]:
        """Incidents of the documents sharing the most text shingles with this one."""
        if self._text_index is None:
            self._text_index = defaultdict(list)
            for other, title, text, published in self.db.execute(
                    "SELECT id, title, text, published FROM documents"):
                self._remember(other, title, text, published)
                for sh in self._shingles[other]:
                    self._text_index[sh].append(other)
        if doc_id not in self._shingles:
            return []
        shared = Counter(d for sh in self._shingles[doc_id] for d in self._text_index.get(sh, ()) if d != doc_id)
        near = [d for d, n in shared.most_common(k) if n >= min_shared]
        if not near:
            return []
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT l.incident_id FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
            f"WHERE i.merged_into IS NULL AND l.document_id IN ({_marks(near)})", near)]

    def _remember(self, doc_id: int, title: str | None, text: str | None, published: str | None) -> None:
        self._shingles[doc_id] = shingles(f"{title or ''} {text or ''}")
        self._published[doc_id] = _day(published)

    def _org_spellings(self, orgs: set[str]) -> set[str]:
        table = self.aliases.canonical.get("organisation", {})
        return {a for a, c in table.items() if c in orgs} | {o.lower() for o in orgs}

    def _neighbour_incidents(self, doc_id: int, k: int = 10) -> list[int]:
        if doc_id not in self.vectors or len(self.vectors) < 2:
            return []
        ids = [d for d in self.vectors if d != doc_id]
        sims = sorted(((float(self.vectors[doc_id] @ self.vectors[d]), d) for d in ids), reverse=True)[:k]
        near = [d for s, d in sims if s >= 0.5]
        if not near:
            return []
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT l.incident_id FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
            f"WHERE i.merged_into IS NULL AND l.document_id IN ({_marks(near)})", near)]

    def similarity(self, doc_id: int, inc_id: int) -> float | None:
        """Best cosine between the document and the incident's documents (None if not embedded)."""
        if doc_id not in self.vectors:
            return None
        others = [self.vectors[d] for d in _incident_docs(self.db, inc_id) if d in self.vectors and d != doc_id]
        return max((float(self.vectors[doc_id] @ v) for v in others), default=None)

    def profile(self, doc_ids: list[int]) -> Profile:
        prof = Profile(doc_ids=list(doc_ids))
        for doc_id, facts in _facts(self.db, doc_ids).items():
            add_facts(prof, facts)
        for doc_id in doc_ids:
            if doc_id not in self._shingles:
                self._remember(doc_id, *self.db.execute(
                    "SELECT title, text, published FROM documents WHERE id = ?", [doc_id]).fetchone())
            prof.shingles.append(self._shingles[doc_id])
            if self._published[doc_id]:
                prof.published.add(self._published[doc_id])
        return prof

    def incident_profile(self, inc_id: int) -> Profile:
        prof = self.profile(_incident_docs(self.db, inc_id))
        row = self.db.execute(
            "SELECT organisation, insider_name, insider_role, incident_type, date_start, date_end, "
            "impact_amount, impact_currency FROM incidents WHERE id = ?", [inc_id]).fetchone()
        org, person, role, itype, start, end, amount, currency = row
        if org:
            prof.names["organisation"].add(canonical_organisation(org, self.aliases))
        if person:
            prof.names["person"].add(person)
        if role:
            prof.names["role"].add(role)
        if itype:
            prof.names["incident_type"].add(itype)
        if start:
            prof.months |= months_of(f"{start}/{end}" if end else start)
        if amount:
            prof.names["money"].add(f"{amount:.0f} {currency}")
        for court, number, damages, dcur in self.db.execute(
                "SELECT court, case_number, damages_amount, damages_currency FROM cases WHERE incident_id = ?",
                [inc_id]):
            if court:
                prof.names["court"].add(canonical_court(court, self.aliases))
            if number:
                prof.names["case_number"].add(normalise_case_number(number))
            if damages:
                prof.names["money"].add(f"{damages:.0f} {dcur}")
        return prof


def add_facts(prof: Profile, facts: list[Fact]) -> None:
    for f in facts:
        prof.names[f.kind].add(f.name)
        if f.kind == "date":
            prof.months |= months_of(f.name)


def score_match(doc: Profile, inc: Profile, cosine: float | None = None) -> tuple[float, list[str]]:
    """How strongly a document's evidence says it reports the incident (about 0..1.5)."""
    score, reasons = 0.0, []

    def shared(kind: str) -> set[str]:
        return doc.names[kind] & inc.names[kind]

    def both(kind: str) -> bool:
        return bool(doc.names[kind] and inc.names[kind])

    if both("case_number"):
        if shared("case_number"):
            score += 0.7
            reasons.append("case number")
        else:
            score -= 0.3
    if both("organisation"):
        if not shared("organisation") and not shared("case_number"):
            return 0.0, ["different organisation"]
        if shared("organisation"):
            score += 0.3
            reasons.append("organisation")
    for kind, weight in (("person", 0.35), ("money", 0.25), ("court", 0.1), ("role", 0.05),
                         ("incident_type", 0.1), ("statute", 0.1)):
        if shared(kind):
            score += weight
            reasons.append(kind)
    if doc.months and inc.months:
        if doc.months & inc.months:
            score += 0.15
            reasons.append("dates")
        elif not _near_years(doc.months, inc.months):
            score -= 0.3
    if doc.published and inc.published and not (shared("case_number") or shared("person")):
        gap = min(abs((a - b).days) for a in doc.published for b in inc.published)
        if gap <= 7:
            score += 0.1
            reasons.append("published together")
        elif gap > 21:
            score -= 0.5
    text = max((jaccard(a, b) for a in doc.shingles for b in inc.shingles), default=0.0)
    if text > 0.3:
        score += 0.6 * min(1.0, (text - 0.3) / 0.6)
        reasons.append(f"text {text:.2f}")
    if cosine is not None and cosine > 0.75:
        score += 0.4 * min(1.0, (cosine - 0.75) / 0.2)
        reasons.append(f"embedding {cosine:.2f}")
    return round(score, 3), reasons


def _near_years(a: set[str], b: set[str]) -> bool:
    ya, yb = {int(m[:4]) for m in a}, {int(m[:4]) for m in b}
    return any(abs(x - y) <= 1 for x in ya for y in yb)


def _day(value: str | None) -> date | None:
    """A day-precise published date, else None."""
    try:
        return date.fromisoformat(value[:10]) if value and len(value) >= 10 else None
    except ValueError:
        return None


def months_of(value: str) -> set[str]:
    """'2024-06/2024-08' → {'2024-06', '2024-07', '2024-08'}; '2024-11-27' → {'2024-11'}."""
    parts = [p[:7] for p in value.split("/") if re.match(r"\d{4}-\d{2}", p)]
    if not parts:
        return set()
    (y, m), (y2, m2) = map(int, parts[0].split("-")), map(int, parts[-1].split("-"))
    out, steps = set(), 0
    while (y, m) <= (y2, m2) and steps < 36:
        out.add(f"{y:04d}-{m:02d}")
        y, m, steps = y + m // 12, m % 12 + 1, steps + 1
    return out


def shingles(text: str, n: int = 4) -> set[int]:
    """Hashed n-grams of words (Latin) and characters (CJK)."""
    tokens = re.findall(r"[\u4e00-\u9fff]|[a-z0-9]+", text.lower())
    return {hash(tuple(tokens[i:i + n])) for i in range(max(0, len(tokens) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def canonical_organisation(name: str, aliases: ent.Aliases) -> str:
    """'ByteDance (TikTok)' → 'ByteDance'; unknown names stay as given."""
    found = ent.organisations(name, aliases)
    return found[0].name if found else name


def canonical_court(court: str, aliases: ent.Aliases) -> str:
    found = ent.courts(court, aliases)
    return found[0].name if found else court


def normalise_case_number(number: str) -> str:
    found = ent.case_numbers(number)
    return found[0].name if found else number.strip()


# --- writing incidents ----------------------------------------------------------

def create_incident(db: sqlite_utils.Database, doc_id: int, aliases: ent.Aliases,
                    key: str | None = None, method: str = "auto") -> int:
    """A new incident filled from one document's facts, linked to it, with its court cases."""
    doc = _document(db, doc_id)
    facts = _facts(db, [doc_id]).get(doc_id, [])
    values = incident_fields(facts, doc)
    inc_id = save_incident(db, IncidentRecord(key=key or f"auto:d{doc_id}", **values))
    link(db, inc_id, doc_id, confidence=1.0, method=method)
    for case in case_records(facts, doc, aliases):
        save_case(db, case, document_id=doc_id, incident_id=inc_id)
    return inc_id


def attach(db: sqlite_utils.Database, doc_id: int, inc_id: int, score: float, aliases: ent.Aliases) -> None:
    """Link a document to an incident; fill the incident's empty fields and add new cases."""
    link(db, inc_id, doc_id, confidence=min(1.0, score), method="auto")
    doc = _document(db, doc_id)
    facts = _facts(db, [doc_id]).get(doc_id, [])
    fill_empty_fields(db, inc_id, incident_fields(facts, doc))
    known = db.execute("SELECT court, case_number FROM cases WHERE incident_id = ?", [inc_id]).fetchall()
    courts = {canonical_court(c, aliases) for c, _ in known if c}
    numbers = {normalise_case_number(n) for _, n in known if n}
    for case in case_records(facts, doc, aliases):
        if case.case_number in numbers or (not case.case_number and case.court in courts):
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
    """IIDES-style incident fields from a document's facts."""
    by_kind: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        by_kind[f.kind].append(f)
    orgs = Counter(f.name for f in by_kind["organisation"])
    organisation = orgs.most_common(1)[0][0] if orgs else None
    role = ent.insider_role([ent.Entity("role", f.name, "", 0, 0) for f in by_kind["role"]])
    itype = by_kind["incident_type"][0] if by_kind["incident_type"] else None
    period = _labelled(by_kind["date"], "incident")
    start, _, end = (period.name.partition("/") if period else (None, "", None))
    impact = _impact(by_kind["money"])
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
        "impact_amount": impact[0] if impact else None,
        "impact_currency": impact[1] if impact else None,
        "impact_description": "; ".join(f"{f.label or 'amount'} {_money_text(f.name)}"
                                        for f in _unique(by_kind["money"])) or None,
        "outcome": _outcome(by_kind["date"], doc.get("text") or ""),
    }


def case_records(facts: list[Fact], doc: dict, aliases: ent.Aliases) -> list[CaseRecord]:
    """Court cases a document reports: one per case number, or one for a named court."""
    courts = [f.name for f in facts if f.kind == "court"]
    numbers = list(dict.fromkeys(f.name for f in facts if f.kind == "case_number"))
    if not courts and not numbers:
        return []
    text = doc.get("text") or ""
    filed = _labelled([f for f in facts if f.kind == "date"], "case")
    money = [f for f in facts if f.kind == "money"]
    claim = _impact([f for f in money if f.label == "claim"])
    claims = [f"{f.label} {_money_text(f.name)}" for f in _unique(money) if f.label in ("claim", "costs")]
    if re.search(r"赔礼道歉|public apology", text, re.I):
        claims.append("public apology")
    base = dict(
        court=courts[0] if courts else None,
        filed=filed.name.split("/")[0] if filed else None,
        status="accepted" if re.search(r"受理|accepted the case", text) else "filed" if filed else None,
        claims="; ".join(claims) or None,
        damages_amount=claim[0] if claim else None,
        damages_currency=claim[1] if claim else None,
    )
    case_type = _case_type(facts, text)
    if not numbers:
        return [CaseRecord(case_type=case_type, **base)]
    kinds = {f.name: f.value for f in facts if f.kind == "case_number"}
    return [CaseRecord(case_number=n, case_type=kinds.get(n) or case_type, **base) for n in numbers]


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


def _impact(money: list[Fact]) -> tuple[float, str] | None:
    """The claimed amount, else the stated loss, as (amount, currency)."""
    for label in ("claim", "loss", "fine"):
        amounts = [f.name.split() for f in money if f.label == label]
        if amounts:
            amount, currency = max(amounts, key=lambda a: float(a[0]))
            return float(amount), currency
    return None


def _money_text(name: str) -> str:
    amount, currency = name.split()
    return f"{float(amount):,.0f} {currency}"


def _country(facts: list[Fact], organisation: str | None) -> str | None:
    for f in facts:
        if f.kind in ("court", "case_number", "statute"):
            if re.search(r"[\u4e00-\u9fff]|People's Court|PRC", f"{f.name} {f.value or ''}"):
                return "CN"
            if re.search(r"U\.S\.", f.name):
                return "US"
    return ent.ORG_COUNTRY.get(organisation or "")


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


# --- manual decisions -----------------------------------------------------------

def merge(db: sqlite_utils.Database, target: int, others: list[int]) -> None:
    """Move the documents and cases of `others` into `target`; the others point to it."""
    with transaction(db):
        _require(db, [target, *others])
        for other in others:
            if other == target:
                raise KBError("cannot merge an incident into itself")
            for doc_id, in db.execute("SELECT document_id FROM incident_documents WHERE incident_id = ?",
                                      [other]).fetchall():
                link(db, target, doc_id, confidence=1.0, method="manual")
            db.execute("DELETE FROM incident_documents WHERE incident_id = ?", [other])
            db.execute("UPDATE cases SET incident_id = ? WHERE incident_id = ?", [target, other])
            row = db.execute(f"SELECT {', '.join(EDITABLE)} FROM incidents WHERE id = ?", [other]).fetchone()
            fill_empty_fields(db, target, dict(zip(EDITABLE, row)))
            db.execute("UPDATE incidents SET merged_into = ?, updated_at = ? WHERE id = ? OR merged_into = ?",
                       [target, now_iso(), other, other])


def split(db: sqlite_utils.Database, incident_id: int, doc_ids: list[int]) -> int:
    """Move documents out of an incident into a new one; returns the new incident's id."""
    with transaction(db):
        _require(db, [incident_id])
        members = set(_incident_docs(db, incident_id))
        missing = [d for d in doc_ids if d not in members]
        if missing:
            raise KBError(f"documents not in incident i{incident_id}: {', '.join(f'd{d}' for d in missing)}")
        aliases = ent.load_aliases(db)
        first = min(doc_ids)
        db.execute(f"DELETE FROM incident_documents WHERE incident_id = ? AND document_id IN ({_marks(doc_ids)})",
                   [incident_id, *doc_ids])
        new_id = create_incident(db, first, aliases, key=f"manual:i{incident_id}-d{first}", method="manual")
        for doc_id in doc_ids:
            link(db, new_id, doc_id, confidence=1.0, method="manual")
        db.execute(f"UPDATE cases SET incident_id = ? WHERE incident_id = ? AND document_id IN ({_marks(doc_ids)})",
                   [new_id, incident_id, *doc_ids])
        return new_id


def manual_link(db: sqlite_utils.Database, incident_id: int, doc_ids: list[int]) -> None:
    """Put documents into an incident by hand (they leave their machine-made incidents)."""
    with transaction(db):
        _require(db, [incident_id])
        for doc_id in doc_ids:
            link(db, incident_id, doc_id, confidence=1.0, method="manual")
        _apply_manual_decisions(db, doc_ids)
        _drop_empty_auto_incidents(db)


def edit(db: sqlite_utils.Database, incident_id: int, changes: dict[str, str]) -> None:
    """Set fields by hand and record them in manual_fields, so machines never overwrite them."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise KBError(f"cannot edit {', '.join(unknown)}: editable fields are {', '.join(EDITABLE)}")
    values = {}
    for key, raw in changes.items():
        try:
            values[key] = _NUMERIC[key](raw) if key in _NUMERIC and raw != "" else (raw or None)
        except ValueError:
            raise KBError(f"{key} must be a number, not {raw!r}") from None
        if isinstance(values[key], (int, float)) and not -2**63 <= values[key] < 2**63:
            raise KBError(f"{key} is out of range: {raw[:30]!r}")
    with transaction(db):
        _require(db, [incident_id])
        current = db.execute("SELECT manual_fields FROM incidents WHERE id = ?", [incident_id]).fetchone()[0]
        manual = sorted(set(json.loads(current or "[]")) | set(values))
        sets = ", ".join(f"{k} = :{k}" for k in values)
        db.execute(f"UPDATE incidents SET {sets}, manual_fields = :manual, updated_at = :now WHERE id = :id",
                   {**values, "manual": json.dumps(manual), "now": now_iso(), "id": incident_id})


def _apply_manual_decisions(db: sqlite_utils.Database, doc_ids: list[int]) -> None:
    """Follow merges, and let a manual link replace a document's machine and source links."""
    for chunk in batches(doc_ids, _BATCH):
        marks = _marks(chunk)
        for doc_id, inc_id, conf, method in db.execute(
                "SELECT l.document_id, l.incident_id, l.confidence, l.method FROM incident_documents l "
                f"JOIN incidents i ON i.id = l.incident_id WHERE i.merged_into IS NOT NULL AND l.document_id IN ({marks})",
                chunk).fetchall():
            db.execute("DELETE FROM incident_documents WHERE incident_id = ? AND document_id = ?", [inc_id, doc_id])
            link(db, _final_incident(db, inc_id), doc_id, confidence=conf, method=method)
        db.execute(
            f"DELETE FROM incident_documents WHERE method != 'manual' AND document_id IN ({marks}) AND document_id IN "
            "(SELECT document_id FROM incident_documents WHERE method = 'manual')", chunk)


def _final_incident(db: sqlite_utils.Database, inc_id: int) -> int:
    seen = set()
    while inc_id not in seen:
        seen.add(inc_id)
        row = db.execute("SELECT merged_into FROM incidents WHERE id = ?", [inc_id]).fetchone()
        if not row or row[0] is None:
            return inc_id
        inc_id = row[0]
    return inc_id


def _drop_empty_auto_incidents(db: sqlite_utils.Database) -> None:
    """Remove machine-made incidents left without documents, unless a person touched them."""
    empty = ("SELECT id FROM incidents i WHERE key LIKE 'auto:%' AND merged_into IS NULL "
             "AND coalesce(manual_fields, '[]') = '[]' "
             "AND NOT EXISTS (SELECT 1 FROM incident_documents l WHERE l.incident_id = i.id) "
             "AND NOT EXISTS (SELECT 1 FROM incidents m WHERE m.merged_into = i.id)")
    db.execute(f"DELETE FROM cases WHERE incident_id IN ({empty})")
    db.execute(f"DELETE FROM incidents WHERE id IN ({empty})")


# --- similar incidents ------------------------------------------------------------

_SIMILAR_WEIGHTS = {"organisation": 0.3, "person": 0.3, "case_number": 0.5, "court": 0.2,
                    "statute": 0.15, "money": 0.15, "incident_type": 0.2, "role": 0.1}


def similar(db: sqlite_utils.Database, incident_id: int, limit: int = 10) -> list[dict]:
    """Incidents like the given one: shared entities, type and organisation, plus embeddings."""
    _require(db, [incident_id])
    names = _incident_names(db)
    fields = {r[0]: r[1:] for r in db.execute(
        "SELECT id, key, title, organisation, incident_type, insider_role, year FROM incidents WHERE merged_into IS NULL")}
    for inc_id, (_, _, org, itype, role, _) in fields.items():
        for kind, value in (("organisation", org), ("incident_type", itype), ("role", role)):
            if value:
                names[inc_id][kind].add(value)
    vectors = _incident_vectors(db)
    me = names[incident_id]
    results = []
    for other, theirs in names.items():
        if other == incident_id or other not in fields:
            continue
        shared = {k: sorted(me[k] & theirs[k]) for k in _SIMILAR_WEIGHTS if me[k] & theirs[k]}
        score = min(1.0, sum(_SIMILAR_WEIGHTS[k] for k in shared))
        cosine = None
        if incident_id in vectors and other in vectors:
            cosine = float(vectors[incident_id] @ vectors[other])
            score = 0.5 * score + 0.5 * max(0.0, cosine)
        if score > 0:
            key, title, org, itype, _, year = fields[other]
            results.append({"id": other, "key": key, "title": title, "organisation": org,
                            "incident_type": itype, "year": year, "score": round(score, 3),
                            "cosine": None if cosine is None else round(cosine, 3), "shared": shared})
    results.sort(key=lambda r: (-r["score"], r["id"]))
    return results[:limit]


def _incident_names(db: sqlite_utils.Database) -> dict[int, dict[str, set[str]]]:
    names: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for inc_id, kind, name in db.execute(
            "SELECT DISTINCT l.incident_id, e.kind, e.name FROM incident_documents l "
            "JOIN document_entities de ON de.document_id = l.document_id JOIN entities e ON e.id = de.entity_id "
            f"WHERE e.kind IN ({_marks(_SIMILAR_WEIGHTS)})", list(_SIMILAR_WEIGHTS)):
        names[inc_id][kind].add(name)
    return names


def _incident_vectors(db: sqlite_utils.Database) -> dict:
    docs = _document_vectors(db)
    if not docs:
        return {}
    import numpy as np

    grouped: dict[int, list] = defaultdict(list)
    for inc_id, doc_id in db.execute("SELECT incident_id, document_id FROM incident_documents"):
        if doc_id in docs:
            grouped[inc_id].append(docs[doc_id])
    out = {}
    for inc_id, vecs in grouped.items():
        mean = np.mean(vecs, axis=0)
        out[inc_id] = mean / (np.linalg.norm(mean) or 1.0)
    return out


# --- helpers --------------------------------------------------------------------

def _document_vectors(db: sqlite_utils.Database) -> dict:
    """Document vectors from kb.embed when it is there and anything is embedded."""
    try:
        from .embed import document_vectors
    except ImportError:
        return {}
    try:
        return document_vectors(db)
    except Exception:  # an index mid-rebuild or another model's vectors must not stop linking
        return {}


def _facts(db: sqlite_utils.Database, doc_ids: list[int]) -> dict[int, list[Fact]]:
    out: dict[int, list[Fact]] = defaultdict(list)
    for chunk in batches(list(doc_ids), _BATCH):
        for doc_id, kind, name, value, label in db.execute(
                "SELECT de.document_id, e.kind, e.name, de.value, de.label FROM document_entities de "
                f"JOIN entities e ON e.id = de.entity_id WHERE de.document_id IN ({_marks(chunk)}) "
                "ORDER BY de.document_id, de.span_start", chunk):
            out[doc_id].append(Fact(kind, name, value, label))
    return out


def _document(db: sqlite_utils.Database, doc_id: int) -> dict:
    cur = db.execute("SELECT id, title, text, published, language FROM documents WHERE id = ?", [doc_id])
    row = cur.fetchone()
    if row is None:
        raise KBError(f"no document d{doc_id}")
    return dict(zip([d[0] for d in cur.description], row))


def _incident_docs(db: sqlite_utils.Database, inc_id: int) -> list[int]:
    return [r[0] for r in db.execute(
        "SELECT document_id FROM incident_documents WHERE incident_id = ? ORDER BY document_id", [inc_id])]


def _linked(db: sqlite_utils.Database, doc_id: int) -> bool:
    return db.execute("SELECT 1 FROM incident_documents WHERE document_id = ? LIMIT 1", [doc_id]).fetchone() is not None


def _require(db: sqlite_utils.Database, inc_ids: list[int]) -> None:
    for inc_id in inc_ids:
        row = db.execute("SELECT merged_into FROM incidents WHERE id = ?", [inc_id]).fetchone()
        if row is None:
            raise KBError(f"no incident i{inc_id}")
        if row[0] is not None:
            raise KBError(f"incident i{inc_id} was merged into i{row[0]}")


def _marks(items) -> str:
    return ", ".join("?" * len(items))
