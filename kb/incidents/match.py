"""Link documents to incidents.

`link_documents(db, doc_ids)` runs after documents are stored: it extracts
each document's entities (kb.entities), then links every document that has
no incident yet to the best-matching incident, or creates one from the
document's facts. Matching uses shared entities (organisation after alias
normalisation, person, case number, court, amounts, role, type), dates,
text overlap and, when documents are embedded, vector similarity.

Records of one case that came with their own incidents (a curated entry and
the VCDB record of the same breach; VCDB duplicates of one breach) are joined
by merging their incidents (`merged_by = 'auto'`). Candidates are found by
index only (shared person, surname, case number, court or amount entities,
the organisation column, and bottom-k text sketches), never by a scan.

Every link and merge keeps its evidence (a JSON list of reasons) and its
confidence. Pairs scoring between REVIEW and THRESHOLD are listed in
`link_candidates` for a person to decide (`kb incident candidates`).

Links have a method: 'source' (the source says so: VCDB, starter set),
'manual' (a person decided) or 'auto' (this module). Only 'auto' links and
merges are ever redone; manual decisions always win.
"""


from __future__ import annotations

import json
import re
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import sqlite_utils

from .. import entities as ent, workers
from ..scan import Scanner
from ..store import batches, link, now_iso, transaction
from ..text import HAN
from .common import _BATCH, Fact, _document_vectors, _facts, _incident_docs, _linked, _marks
from .edits import _apply_manual_decisions, _drop_empty_auto_incidents
from .fields import attach, canonical_court, canonical_organisation, create_incident

THRESHOLD = 0.6  # a document joins an incident, or two incidents merge, at this score or above
REVIEW = 0.35  # from here up to THRESHOLD a pair is listed for review instead
MAX_CANDIDATES = 50
ANCHORS = ("person", "surname", "case_number", "court", "money")
IDENTIFYING = ("case number", "person", "surname", "amount", "same text")  # one is needed to merge incidents
SKETCH = 32  # hashes kept per document (bottom-k of its text shingles)
_SEVERAL = Scanner(re.compile(r"\b(?:several|multiple|two|three|four|five|six|\d+)\s+(?:[\w-]+\s+){0,2}"
                              r"(?:breaches|incidents)\b|references \d+", re.I),
                   needs=("breaches", "incidents", "references"))


@dataclass
class Profile:
    """What a document, or all documents of an incident, say: the matching evidence."""

    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    months: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    published: set[date] = field(default_factory=set)
    shingles: list[set[int]] = field(default_factory=list)
    several: bool = False  # a text that reports several incidents identifies none of them
    text: str = ""  # the documents' texts, lower case (to see which organisations they name)
    doc_ids: list[int] = field(default_factory=list)


@dataclass
class Match:
    incident_id: int
    score: float
    reasons: list[str]


# --- entry points ---------------------------------------------------------------

def link_documents(db: sqlite_utils.Database, doc_ids: Iterable[int], create: bool = True) -> dict[str, int]:
    """Extract entities of `doc_ids`, link each unlinked one to an incident, and join incidents
    of other sources that report the same case.

    Joins the caller's transaction when one is open. `create=False` only links to existing
    incidents. Returns counts.
    """
    doc_ids = sorted(set(doc_ids))
    aliases = ent.load_aliases(db)
    matcher = Matcher(db, aliases)
    for chunk in batches(doc_ids, 500):  # short write transactions: readers and writers wait less
        with transaction(db):
            extract_documents(db, chunk, aliases, matcher)
            _apply_manual_decisions(db, chunk)
    counts = {"documents": len(doc_ids), "linked": 0, "created": 0, "merged": 0, "candidates": 0}
    for chunk in batches(doc_ids, 500):
        with transaction(db):
            for doc_id in chunk:
                if _linked(db, doc_id):
                    _join_incidents(db, matcher, doc_id, counts)
                    continue
                match = matcher.best(doc_id)
                if match and match.score >= THRESHOLD:
                    attach(db, doc_id, match.incident_id, match.score, aliases)
                    _set_evidence(db, match.incident_id, doc_id, match.reasons)
                    counts["linked"] += 1
                    continue
                if match and match.score >= REVIEW:
                    _candidate(db, doc_id, match)
                    counts["candidates"] += 1
                if create:
                    create_incident(db, doc_id, aliases)
                    counts["created"] += 1
    return counts


def relink(db: sqlite_utils.Database) -> dict[str, int | float]:
    """Redo every machine decision (entities, auto links and merges); keep source and manual ones."""
    started = time.perf_counter()
    with transaction(db):
        db.execute("DELETE FROM incident_documents WHERE method = 'auto'")
        db.execute("UPDATE incidents SET merged_into = NULL, merged_by = NULL, merge_evidence = NULL "
                   "WHERE merged_by = 'auto'")
        db.execute("DELETE FROM link_candidates")
        _drop_empty_auto_incidents(db)
    ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    with workers.sharing():
        counts = link_documents(db, ids)
    return {**counts, "seconds": round(time.perf_counter() - started, 2)}


def extract_documents(db: sqlite_utils.Database, doc_ids: list[int], aliases: ent.Aliases,
                      matcher: "Matcher | None" = None) -> None:
    """Extract and store the entities and the text sketch of each document."""
    matcher = matcher or Matcher(db, aliases)
    cache: dict = {}
    for chunk in batches(doc_ids, _BATCH):
        rows = db.execute(
            f"SELECT id, title, text, published FROM documents WHERE id IN ({_marks(chunk)})", chunk).fetchall()
        db.execute(f"DELETE FROM document_sketches WHERE document_id IN ({_marks(chunk)})", chunk)
        sketches = []
        found = workers.start(_extract_one, [(title, text, aliases, published) for _, title, text, published in rows])
        for doc_id, title, text, published in rows:  # while the entities are extracted
            matcher.remember(doc_id, title, text, published)
            sketches += [(h, doc_id) for h in sketch(matcher.shingles_of(doc_id))]
        ent.save_entities(db, {row[0]: entities for row, entities in zip(rows, found())}, cache)
        db.conn.executemany("INSERT OR IGNORE INTO document_sketches (hash, document_id) VALUES (?, ?)", sketches)


def _extract_one(item: tuple) -> list[ent.Entity]:
    return ent.extract(*item)


def candidates(db: sqlite_utils.Database) -> list[dict]:
    """Pairs left for a person to decide: a document and the incident it may belong to."""
    cur = db.execute(
        "SELECT c.document_id, d.title, c.incident_id, i.title, c.score, c.evidence FROM link_candidates c "
        "JOIN documents d ON d.id = c.document_id JOIN incidents i ON i.id = c.incident_id "
        "WHERE i.merged_into IS NULL ORDER BY c.score DESC, c.document_id, c.incident_id")
    return [{"document_id": d, "document_title": dt, "incident_id": i, "incident_title": it,
             "score": score, "evidence": json.loads(ev or "[]")} for d, dt, i, it, score, ev in cur]


# --- joining incidents of other sources -------------------------------------------

def _join_incidents(db: sqlite_utils.Database, matcher: "Matcher", doc_id: int, counts: dict) -> None:
    """Merge the incident a source gave this document into another incident of the same case."""
    row = db.execute(
        "SELECT i.id, i.curated FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
        "WHERE l.document_id = ? AND l.method = 'source' AND i.merged_into IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM incident_documents m WHERE m.incident_id = i.id AND m.method = 'manual') "
        "ORDER BY i.id LIMIT 1", [doc_id]).fetchone()
    if row is None:
        return
    mine, curated = row
    live_curated = "SELECT curated FROM incidents WHERE id = ?"
    others = [i for i in matcher.candidates(doc_id, Profile(), by_organisation=False) if i != mine]
    if not others:  # merging needs more than a shared name: no shared person, number, amount or text
        return
    me = matcher.incident_profile(mine)
    best: Match | None = None
    for other in others:
        if other == mine or _has_manual(db, other) or (curated and db.execute(live_curated, [other]).fetchone()[0]):
            continue  # a person decided: manual links, and curated entries, which are distinct by definition
        score, reasons = score_match(me, matcher.incident_profile(other))
        if best is None or score > best.score:
            best = Match(other, score, reasons)
    if best is None or best.score < REVIEW:
        return
    if best.score >= THRESHOLD and any(r.startswith(IDENTIFYING) for r in best.reasons):
        other_curated = db.execute(live_curated, [best.incident_id]).fetchone()[0]
        target, source = (mine, best.incident_id) if curated and not other_curated else (best.incident_id, mine)
        auto_merge(db, target, source, best.score, best.reasons)
        matcher.forget(target, source)
        counts["merged"] += 1
    else:
        _candidate(db, doc_id, best)
        counts["candidates"] += 1


def auto_merge(db: sqlite_utils.Database, target: int, other: int, score: float, reasons: list[str]) -> None:
    """Merge `other` into `target` by machine: its documents get 'auto' links with the evidence;
    its own links stay, so `relink` can undo the merge."""
    evidence = json.dumps(reasons, ensure_ascii=False)
    for doc_id in _incident_docs(db, other):
        link(db, target, doc_id, confidence=min(1.0, score), method="auto")
        _set_evidence(db, target, doc_id, reasons)
    db.execute("UPDATE incidents SET merged_into = ?, merged_by = 'auto', merge_evidence = ?, updated_at = ? "
               "WHERE id = ? OR merged_into = ?", [target, evidence, now_iso(), other, other])
    db.execute("DELETE FROM link_candidates WHERE incident_id = ?", [other])


def _has_manual(db: sqlite_utils.Database, inc_id: int) -> bool:
    return db.execute("SELECT 1 FROM incident_documents WHERE incident_id = ? AND method = 'manual' LIMIT 1",
                      [inc_id]).fetchone() is not None


def _set_evidence(db: sqlite_utils.Database, inc_id: int, doc_id: int, reasons: list[str]) -> None:
    db.execute("UPDATE incident_documents SET evidence = ? WHERE incident_id = ? AND document_id = ? "
               "AND method = 'auto'", [json.dumps(reasons, ensure_ascii=False), inc_id, doc_id])


def _candidate(db: sqlite_utils.Database, doc_id: int, match: Match) -> None:
    db.execute("INSERT OR REPLACE INTO link_candidates (document_id, incident_id, score, evidence) "
               "VALUES (?, ?, ?, ?)", [doc_id, match.incident_id, match.score,
                                       json.dumps(match.reasons, ensure_ascii=False)])


# --- matching -------------------------------------------------------------------

class Matcher:
    """Finds the incident a document belongs to; caches profiles, shingles and vectors for one run."""

    def __init__(self, db: sqlite_utils.Database, aliases: ent.Aliases):
        self.db = db
        self.aliases = aliases
        self._shingles: dict[int, set[int]] = {}
        self._published: dict[int, date | None] = {}
        self._several: dict[int, bool] = {}
        self._texts: dict[int, str] = {}
        self._incidents: dict[int, Profile] = {}
        self._vectors: dict = {}  # document id -> vector, or None when not embedded

    def best(self, doc_id: int) -> Match | None:
        doc = self.profile([doc_id])
        best = None
        for inc_id in self.candidates(doc_id, doc):
            score, reasons = score_match(doc, self.incident_profile(inc_id), self.similarity(doc_id, inc_id))
            if best is None or score > best.score:
                best = Match(inc_id, score, reasons)
        return best

    def candidates(self, doc_id: int, prof: Profile, by_organisation: bool = True) -> list[int]:
        """Live incidents found by index: documents sharing an anchor entity or text sketch hashes,
        and incidents named after one of the organisations."""
        docs = [r[0] for r in self.db.execute(
            "SELECT other.document_id FROM document_entities mine JOIN entities e ON e.id = mine.entity_id "
            "JOIN document_entities other ON other.entity_id = mine.entity_id "
            f"WHERE mine.document_id = ? AND e.kind IN ({_marks(ANCHORS)}) AND other.document_id != ? "
            "AND (e.kind != 'money' OR (mine.status = 'fact' AND other.status = 'fact')) "
            "GROUP BY other.document_id ORDER BY count(DISTINCT mine.entity_id) DESC, other.document_id LIMIT ?",
            [doc_id, *ANCHORS, doc_id, MAX_CANDIDATES])]
        docs += [r[0] for r in self.db.execute(
            "SELECT other.document_id FROM document_sketches mine JOIN document_sketches other ON other.hash = mine.hash "
            "WHERE mine.document_id = ? AND other.document_id != ? GROUP BY other.document_id "
            "HAVING count(*) >= 4 ORDER BY count(*) DESC, other.document_id LIMIT 20", [doc_id, doc_id])]
        found = []
        if docs:
            found += [r[0] for r in self.db.execute(
                "SELECT DISTINCT coalesce(i.merged_into, i.id) FROM incident_documents l "
                f"JOIN incidents i ON i.id = l.incident_id WHERE l.document_id IN ({_marks(docs)})", docs)]
        names = sorted(self._org_spellings(prof.names["organisation"])) if by_organisation else []
        if names:
            found += [r[0] for r in self.db.execute(
                f"SELECT id FROM incidents WHERE merged_into IS NULL AND lower(organisation) IN ({_marks(names)}) "
                "ORDER BY id DESC LIMIT ?", [*names, MAX_CANDIDATES])]
        live = [i for i in dict.fromkeys(found) if self._live(i)]
        return sorted(live)

    def _live(self, inc_id: int) -> bool:
        row = self.db.execute("SELECT merged_into FROM incidents WHERE id = ?", [inc_id]).fetchone()
        return row is not None and row[0] is None

    def shingles_of(self, doc_id: int) -> set[int]:
        return self._shingles[doc_id]

    def remember(self, doc_id: int, title: str | None, text: str | None, published: str | None) -> None:
        """Keep what matching needs of a document's text for this run."""
        self._shingles[doc_id] = shingles(text or title or "")
        self._texts[doc_id] = f" {title or ''} {text or ''} ".lower()[:20000]
        self._published[doc_id] = _day(published)
        self._several[doc_id] = bool(_SEVERAL.search(text or ""))

    def _org_spellings(self, orgs: set[str]) -> set[str]:
        table = self.aliases.canonical.get("organisation", {})
        return {a for a, c in table.items() if c in orgs} | {o.lower() for o in orgs}

    def similarity(self, doc_id: int, inc_id: int) -> float | None:
        """Best cosine between the document and the incident's documents (None if not embedded)."""
        docs = [d for d in _incident_docs(self.db, inc_id) if d != doc_id]
        missing = [d for d in [doc_id, *docs] if d not in self._vectors]
        if missing:  # fetched by id, never all at once
            found = _document_vectors(self.db, missing)
            self._vectors.update({d: found.get(d) for d in missing})
        mine = self._vectors[doc_id]
        if mine is None:
            return None
        return max((float(mine @ self._vectors[d]) for d in docs if self._vectors[d] is not None), default=None)

    def forget(self, *inc_ids: int) -> None:
        for inc_id in inc_ids:
            self._incidents.pop(inc_id, None)

    def profile(self, doc_ids: list[int]) -> Profile:
        prof = Profile(doc_ids=list(doc_ids))
        for doc_id, facts in _facts(self.db, doc_ids).items():
            add_facts(prof, facts)
        for doc_id in doc_ids:
            if doc_id not in self._shingles:
                self.remember(doc_id, *self.db.execute(
                    "SELECT title, text, published FROM documents WHERE id = ?", [doc_id]).fetchone())
            prof.shingles.append(self._shingles[doc_id])
            prof.text += self._texts[doc_id]
            prof.several = prof.several or self._several[doc_id]
            if self._published[doc_id]:
                prof.published.add(self._published[doc_id])
        return prof

    def incident_profile(self, inc_id: int) -> Profile:
        if inc_id in self._incidents:
            return self._incidents[inc_id]
        docs = sorted({r[0] for r in self.db.execute(
            "SELECT document_id FROM incident_documents WHERE incident_id = ? UNION "
            "SELECT l.document_id FROM incidents i JOIN incident_documents l ON l.incident_id = i.id "
            "WHERE i.merged_into = ?", [inc_id, inc_id])})
        prof = self.profile(docs)
        row = self.db.execute(
            "SELECT organisation, insider_name, insider_role, incident_type, date_start, date_end, "
            "impact_amount, impact_currency, year FROM incidents WHERE id = ?", [inc_id]).fetchone()
        org, person, role, itype, start, end, amount, currency, year = row
        if org:  # the incident names its organisation: other organisations in its texts are no evidence
            prof.names["organisation"] = set()
            for part in re.split(r"\s*[(（/;；]\s*|\s*[)）]\s*", org):  # 'Waymo (Google)': either name
                if ent.meaningful(part):
                    prof.names["organisation"].add(canonical_organisation(part, self.aliases))
        if person:
            for part in re.split(r"\s*[;；]\s*", person):
                prof.names["person"].add(person_key(part))
                prof.names["surname"] |= ent.surnames(part)
        if role:
            prof.names["role"].add(role)
        if itype:
            prof.names["incident_type"].add(itype)
        if start:
            prof.months |= months_of(f"{start}/{end}" if end else start)
        prof.years |= {int(v[:4]) for v in (start, end) if v and v[:4].isdigit()}
        if year:
            prof.years.add(int(year))
        if amount:
            prof.names["money"].add(f"{amount:.0f} {currency}")
        for court, number, damages, dcur in self.db.execute(
                "SELECT court, case_number, damages_amount, damages_currency FROM cases WHERE incident_id = ?",
                [inc_id]):
            if court:
                prof.names["court"].add(canonical_court(court, self.aliases))
            if number:
                prof.names["case_number"].add(ent.normalise_case_number(number))
            if damages:
                prof.names["money"].add(f"{damages:.0f} {dcur}")
        self._incidents[inc_id] = prof
        return prof


def person_key(name: str) -> str:
    """A person's name for comparison: 'Paige A. Thompson' and 'Thompson Paige' → 'paige thompson'."""
    name = re.sub(r"[(（].*?[)）]", " ", name)
    words = sorted(w.lower() for w in re.findall(f"[A-Za-z]{{2,}}|[{HAN}]+", name))
    return " ".join(words)


def add_facts(prof: Profile, facts: list[Fact]) -> None:
    """Evidence from a document's stored facts: rumoured amounts and past employers are no evidence."""
    for f in facts:
        if f.label == "past_employer" or (f.kind in ("money", "date") and f.status != "fact"):
            continue
        if f.kind == "person":
            if re.match(f"[{HAN}]", f.name) or len(f.name.split()) < 2:
                continue  # a masked Chinese name (田某某, 王X) or a single name says only the surname
            prof.names["person"].add(person_key(f.name))
            continue
        prof.names[f.kind].add(ent.normalise_case_number(f.name) if f.kind == "case_number" else f.name)
        if f.kind == "date":
            prof.months |= months_of(f.name)
            if f.name[:4].isdigit():
                prof.years.add(int(f.name[:4]))


def score_match(doc: Profile, inc: Profile, cosine: float | None = None) -> tuple[float, list[str]]:
    """How strongly the evidence says two records report the same case (about -1..2), and why."""
    score, reasons = 0.0, []

    def shared(kind: str) -> set[str]:
        return doc.names[kind] & inc.names[kind]

    def both(kind: str) -> bool:
        return bool(doc.names[kind] and inc.names[kind])

    if both("case_number"):
        if shared("case_number"):
            score += 0.7
            reasons.append("case number: " + ", ".join(sorted(shared("case_number"))))
        else:
            score -= 0.3
            reasons.append("different case number")
    text = 0.0 if doc.several or inc.several else max(
        (jaccard(a, b) for a in doc.shingles for b in inc.shingles), default=0.0)
    if both("organisation"):
        related = text >= 0.9 and _related(doc, inc)
        if not shared("organisation") and not shared("case_number") and not related:
            return 0.0, ["different organisation"]
        if related and not shared("organisation"):
            score += 0.3
            reasons.append("related organisations: " + ", ".join(sorted(doc.names["organisation"] | inc.names["organisation"])))
        if shared("organisation"):
            score += 0.3
            reasons.append("organisation: " + ", ".join(sorted(shared("organisation"))))
    if shared("person"):
        score += 0.35
        reasons.append("person: " + ", ".join(sorted(shared("person"))))
    elif shared("surname"):
        score += 0.2
        reasons.append("surname: " + ", ".join(sorted(shared("surname"))))
    elif both("surname"):
        score -= 0.3
        reasons.append("different person")
    several = doc.several or inc.several  # one fine or text for five breaches identifies none of them
    for kind, weight, why in (("money", 0.25, "amount"), ("court", 0.1, "court"), ("role", 0.05, "role"),
                              ("incident_type", 0.1, "incident type"), ("statute", 0.1, "statute")):
        if shared(kind) and not (several and kind == "money"):
            score += weight
            reasons.append(f"{why}: " + ", ".join(sorted(shared(kind))))
    if doc.months and inc.months:
        if doc.months & inc.months:
            score += 0.15
            reasons.append("dates overlap")
        elif not _near_years(doc.months, inc.months):
            score -= 0.3
            reasons.append("dates apart")
    elif doc.years and inc.years and not doc.years & inc.years and text < 0.9:
        score -= 0.3
        reasons.append("different year")
    if doc.published and inc.published and not (shared("case_number") or shared("person")) and text < 0.9:
        gap = min(abs((a - b).days) for a in doc.published for b in inc.published)
        if gap <= 7:
            score += 0.1
            reasons.append("published together")
        elif gap > 21:
            score -= 0.5
            reasons.append(f"published {gap} days apart")
    if text > 0.3:
        score += 0.6 * min(1.0, (text - 0.3) / 0.6)
        reasons.append(f"{'same text' if text >= 0.85 else 'text'} {text:.2f}")
    if cosine is not None and cosine > 0.75:
        score += 0.4 * min(1.0, (cosine - 0.75) / 0.2)
        reasons.append(f"embedding {cosine:.2f}")
    return round(score, 3), reasons


_GENERIC = {"the", "of", "and", "inc", "corp", "llc", "ltd", "co", "company", "group", "incorporated", "us", "u",
            "s", "united", "states", "department", "dept", "city", "county", "council", "health", "healthcare",
            "hospital", "medical", "center", "centre", "services", "system", "systems", "bank", "university",
            "national", "state", "new", "police", "association", "base", "clinic", "care", "office"}


def _related(a: Profile, b: Profile) -> bool:
    """Organisations of one report under two names: parent and subsidiary, a unit and its agency
    (a distinctive word in common), or each named in the other's text."""
    def words(names: set[str]) -> set[str]:
        return {w for n in names for w in re.findall(r"[a-z0-9]+", n.lower())} - _GENERIC

    if words(a.names["organisation"]) & words(b.names["organisation"]):
        return True
    return (any(n.lower() in b.text for n in a.names["organisation"])
            and any(n.lower() in a.text for n in b.names["organisation"]))


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


_TOKEN = re.compile(f"[{HAN}]|[a-z0-9]+")


def shingles(text: str, n: int = 4) -> set[int]:
    """Stable hashes of n-grams of words (Latin) and characters (CJK)."""
    tokens = _TOKEN.findall(text.lower())
    grams = map(" ".join, zip(*(tokens[k:] for k in range(n))))  # tokens[i:i + n] for each i
    return set(map(zlib.crc32, map(str.encode, grams)))


def sketch(hashes: set[int], k: int = SKETCH) -> list[int]:
    """The k smallest hashes: two texts share about k·J of them where J is their Jaccard overlap."""
    return sorted(hashes)[:k]


def jaccard(a: set, b: set) -> float:
    if not (a and b):
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)  # len(a | b), without building the union

