"""How strongly two records say they report the same case: the evidence of each (a `Profile`)
and the score of a pair, with its reasons.

    score, reasons = score_match(document_profile, incident_profile)   # about -1..2
    # reasons: ['case number: 3:23-cv-04557', 'organisation: ByteDance', 'dates overlap', ...]

A document joins an incident, and two incidents of other sources merge, at
THRESHOLD or above; from REVIEW up to it the pair is listed for a person.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ..storage.entities import Fact
from ..text.scripts import HAN
from ..extract.names import normalise_case_number
from .sketches import jaccard

THRESHOLD = 0.6  # a document joins an incident, or two incidents merge, at this score or above
REVIEW = 0.35  # from here up to THRESHOLD a pair is listed for review instead
IDENTIFYING = ("case number", "person", "surname", "amount", "same text")  # one is needed to merge incidents


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
        prof.names[f.kind].add(normalise_case_number(f.name) if f.kind == "case_number" else f.name)
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
