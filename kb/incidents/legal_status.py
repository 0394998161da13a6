"""The legal status of a case or incident: the latest step of its legal facts and court cases, in
one vocabulary (kb.records.LEGAL_STATUSES), with the step's date and source.

    latest([step_of_fact(f) for f in facts] + [step_of_case(c)]) -> Step(status, date, document_id, sentence)

An incident with no legal step is 'alleged': what is reported is not proven. Steps rank by how far
a matter has gone (a charge, a plea, a decision); of two steps of one rank the later one wins, so a
conviction later overturned reads acquitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import LEGAL_STATUSES
from ..text.sentences import sentences

_RANK = {"alleged": 0, "sued": 1, "charged": 1, "pending": 1, "pleaded guilty": 2,
         "convicted": 3, "acquitted": 3, "settled": 3, "dismissed": 3, "liable": 3}
_FACT_STATUS = {  # (legal fact kind, its status) → the step it is
    ("arrest", None): "charged", ("charge", "alleged"): "charged", ("charge", "convicted"): "convicted",
    ("plea", "guilty"): "pleaded guilty", ("plea", "agreed"): "pleaded guilty", ("plea", "not_guilty"): "charged",
    ("plea", "no_contest"): "convicted", ("verdict", "convicted"): "convicted", ("verdict", "acquitted"): "acquitted",
    ("verdict", "liable"): "liable", ("sentence", "imposed"): "convicted", ("sentence", "agreed"): "pleaded guilty",
    ("settlement", None): "settled", ("claim", "claimed"): "sued", ("claim", "awarded"): "liable",
}
_CASE_WORDS = {"accepted": "pending", "filed": "pending"}  # statuses kb.incidents.fields gives cases
_STATUS_WORDS = {
    "sued": r"\bsued?\b|lawsuit|起诉|诉讼", "charged": r"charged|indict|arrest|起诉|逮捕",
    "pleaded guilty": r"pleaded guilty|pled guilty|认罪", "convicted": r"convicted|sentenced|guilty|判处|有期徒刑",
    "acquitted": r"acquitted|revers|overturn|vacated|无罪", "settled": r"settle|和解", "dismissed": r"dismissed|驳回|撤诉",
    "pending": r"pending|accepted|filed|受理|立案", "liable": r"liable|awarded|判令", "alleged": r"alleg|accus|涉嫌",
}


@dataclass(frozen=True)
class Step:
    status: str
    date: str | None = None
    document_id: int | None = None
    sentence: str | None = None


def step_of_fact(fact: dict) -> Step | None:
    """The step a legal fact (a legal_facts row) records, if it is one."""
    status = _FACT_STATUS.get((fact["kind"], fact.get("status"))) or _FACT_STATUS.get((fact["kind"], None))
    return Step(status, fact.get("date"), fact.get("document_id"), fact.get("sentence")) if status else None


def step_of_case(case: dict, text: str = "") -> Step | None:
    """The step a case's own record states (a curated case's status, a docket's), dated by its
    decision or filing; its sentence is the first of `text` (its document) that names the step."""
    status = _CASE_WORDS.get(case.get("status") or "", case.get("status"))
    if status not in LEGAL_STATUSES:
        status = {"criminal": "charged", "civil": "sued"}.get(case.get("case_type") or "")
    if not status:
        return None
    date = case.get("decided") or case.get("terminated") if _RANK[status] == 3 else None
    hints = [h for h in (case.get("case_number"), case.get("court"), case.get("case_name")) if h]
    return Step(status, date or case.get("filed"), case.get("document_id"), _sentence_naming(text, status, hints))


def latest(steps: list[Step | None]) -> Step | None:
    """The step that went furthest; of one rank, the latest dated (then by status and sentence, so
    the answer does not depend on the order the steps come in)."""
    found = [s for s in steps if s]
    return max(found, key=lambda s: (_RANK[s.status], s.date or "", s.status, s.sentence or "")) if found else None


def _sentence_naming(text: str, status: str, hints: list[str]) -> str | None:
    """The sentence of `text` that names the step, preferring one that also names the case (its
    number, court, or a word of its court or title: 'Second Circuit', 'New York')."""
    words = re.compile(_STATUS_WORDS[status], re.I)
    found = [text[a:b].strip() for a, b in sentences(text or "") if words.search(text[a:b])]
    marks = {w.lower() for h in hints for w in re.findall(r"[A-Z][a-z]{3,}|[\u4e00-\u9fff]{2,}", h)} - _COMMON
    if any(re.match(r"U\.S\.|United States", h) for h in hints):
        marks.add("federal")
    return max(found, key=lambda s: (sum(m in s.lower() for m in marks), -found.index(s)), default=None)


_COMMON = {"court", "district", "united", "states", "people", "county", "circuit"}  # in every court's name
