"""Link documents to incidents.

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

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import sqlite_utils

from .. import entities as ent
from ..store import batches, transaction
from .common import _BATCH, Fact, _document_vectors, _facts, _incident_docs, _linked, _marks
from .edits import _apply_manual_decisions, _drop_empty_auto_incidents
from .fields import attach, canonical_court, canonical_organisation, create_incident, normalise_case_number

THRESHOLD = 0.6  # a document joins an incident at this score or above
MAX_CANDIDATES = 200
ANCHORS = ("organisation", "person", "case_number", "court")


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

