"""Which incident a document (or another source's incident) belongs to: candidates found by index
only (shared person, surname, case number, court or amount entities, the organisation column,
text sketches; never a scan), each scored on the evidence of both (kb.incidents.scoring).

A `Matcher` lives for one linking run and keeps what it read: each document's text features,
each incident's profile, document vectors.
"""

from __future__ import annotations

import re
from datetime import date

import sqlite_utils

from ..extract.aliases import Aliases, meaningful
from ..extract.names import normalise_case_number, surnames
from ..index.chunks import document_vectors
from ..storage import entities as stored
from ..storage.merged import final_incidents
from ..storage.sql import marks
from ..storage.store import documents_of, incidents_of, texts
from ..text.scan import Scanner
from .fields import canonical_court, canonical_organisation
from .scoring import Match, Profile, add_facts, months_of, person_key, score_match
from .sketches import shingles, similar_texts

MAX_CANDIDATES = 50
ANCHORS = ("person", "surname", "case_number", "court", "money")
_SEVERAL = Scanner(re.compile(r"\b(?:several|multiple|two|three|four|five|six|\d+)\s+(?:[\w-]+\s+){0,2}"
                              r"(?:breaches|incidents)\b|references \d+", re.I),
                   needs=("breaches", "incidents", "references"))


def _day(value: str | None) -> date | None:
    """A day-precise published date, else None."""
    try:
        return date.fromisoformat(value[:10]) if value and len(value) >= 10 else None
    except ValueError:
        return None


class Matcher:
    """Finds the incident a document belongs to; caches profiles, shingles and vectors for one run."""

    def __init__(self, db: sqlite_utils.Database, aliases: Aliases):
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
        """Live incidents found by index: those of documents sharing an anchor entity or text sketch
        hashes (merges resolved), and incidents named after one of the organisations."""
        docs = stored.sharing_anchors(self.db, doc_id, ANCHORS, MAX_CANDIDATES)
        docs += similar_texts(self.db, doc_id)
        found = list(final_incidents(self.db, incidents_of(self.db, docs)).values())
        names = sorted(self._org_spellings(prof.names["organisation"])) if by_organisation else []
        if names:
            found += [r[0] for r in self.db.execute(
                f"SELECT id FROM incidents WHERE merged_into IS NULL AND lower(organisation) IN ({marks(names)}) "
                "ORDER BY id DESC LIMIT ?", [*names, MAX_CANDIDATES])]
        return sorted(set(found))

    def remember(self, doc_id: int, title: str | None, text: str | None, published: str | None) -> set[int]:
        """Keep what matching needs of a document's text for this run; returns its shingles."""
        self._shingles[doc_id] = shingles(text or title or "")
        self._texts[doc_id] = f" {title or ''} {text or ''} ".lower()[:20000]
        self._published[doc_id] = _day(published)
        self._several[doc_id] = bool(_SEVERAL.search(text or ""))
        return self._shingles[doc_id]

    def _org_spellings(self, orgs: set[str]) -> set[str]:
        table = self.aliases.canonical.get("organisation", {})
        return {a for a, c in table.items() if c in orgs} | {o.lower() for o in orgs}

    def similarity(self, doc_id: int, inc_id: int) -> float | None:
        """Best cosine between the document and the incident's documents (None if not embedded)."""
        docs = [d for d in documents_of(self.db, inc_id) if d != doc_id]
        missing = [d for d in [doc_id, *docs] if d not in self._vectors]
        if missing:  # fetched by id, never all at once
            found = document_vectors(self.db, missing)
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
        for doc_id, facts in stored.mentions(self.db, doc_ids).items():
            add_facts(prof, facts)
        unknown = [doc_id for doc_id in doc_ids if doc_id not in self._shingles]
        for doc_id, (title, text, published) in texts(self.db, unknown).items():
            self.remember(doc_id, title, text, published)
        for doc_id in doc_ids:
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
                if meaningful(part):
                    prof.names["organisation"].add(canonical_organisation(part, self.aliases))
        if person:
            for part in re.split(r"\s*[;；]\s*", person):
                prof.names["person"].add(person_key(part))
                prof.names["surname"] |= surnames(part)
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
                prof.names["case_number"].add(normalise_case_number(number))
            if damages:
                prof.names["money"].add(f"{damages:.0f} {dcur}")
        self._incidents[inc_id] = prof
        return prof
