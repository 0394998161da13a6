"""Legal facts with provenance, in English and Chinese.

`facts(title, text)` is a pure function: it splits `document_text(title,
text)` into sentences (kb.text.sentences) and returns `LegalFact` values, each
with the exact sentence it came from and that sentence's offsets; the rules
are in kb.extract.legal_en and kb.extract.legal_zh. Kinds: arrest, charge,
plea, verdict, sentence, settlement, claim. `status` keeps claims apart from
outcomes:

- sentence: imposed | maximum ("faces up to 10 years") | agreed (a plea
  agreement's terms) | requested
- charge: alleged ("allegedly", 涉嫌, indicted) | convicted (pleaded guilty to,
  convicted of, 犯…罪)
- plea: guilty | not_guilty | no_contest | agreed (agreed to plead guilty)
- verdict: convicted | acquitted | liable
- claim: claimed (索赔, seeks) | awarded (判令赔偿, awarded)

`step(db, doc_ids)` stores them in `legal_facts`, replacing each document's rows.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, fields
from typing import Callable

import sqlite_utils

from ..storage import legal_facts as stored, store
from ..text.scripts import has_han
from ..text.sentences import sentences
from . import legal_en, legal_zh, workers
from ..records import document_text
from .facts import dates
from .names import case_numbers, normalise_case_number


@dataclass(frozen=True)
class LegalFact:
    """One legal fact and the sentence it was read from."""

    kind: str
    status: str | None
    sentence: str
    start: int  # offsets of the sentence in document_text(title, text)
    end: int
    sentence_type: str | None = None  # incarceration, probation, supervised_release, fine, restitution...
    statute: str | None = None  # the offence: "wire fraud", "18 U.S.C. § 1030", 破坏计算机信息系统罪
    count: int | None = None
    quantity: int | None = None
    unit: str | None = None  # year, month, day, hour
    amount: float | None = None
    currency: str | None = None
    date: str | None = None
    case_number: str | None = None


def facts(title: str | None, text: str | None, published: str | None = None) -> list[LegalFact]:
    """Every legal fact in a document, each with its sentence, offsets, date and case number."""
    full = document_text(title, text)
    case_no = next((e.name for e in case_numbers(full)), None)
    dated = None
    out: list[LegalFact] = []
    seen = set()
    # English sentences worth reading hold one of these (no match crosses a sentence break)
    legal_words = [m.start() for m in legal_en.LEGAL_WORDS.finditer(full)]
    for start, end in sentences(full):
        sent = full[start:end]
        if has_han(sent):
            found = legal_zh.sentence_facts(sent)
        elif bisect.bisect_left(legal_words, start) < bisect.bisect_left(legal_words, end):
            found = legal_en.sentence_facts(sent)
        else:
            continue
        if not found:
            continue
        dated = dates(full, published) if dated is None else dated
        in_sentence = [d for d in dated if start <= d.start < end and d.value and "/" not in d.value]
        for f in found:
            when = _date_of(f["kind"], sent, start, in_sentence)
            key = (start, tuple(sorted((k, str(v)) for k, v in f.items())))
            if key in seen:
                continue
            seen.add(key)
            out.append(LegalFact(sentence=sent, start=start, end=end, date=when, case_number=case_no, **f))
    return out


_ANCHORS = {"sentence": r"sentenc|jailed|imprisoned|判处|判决|被判", "plea": r"plead|pled|guilty plea|认罪",
            "arrest": r"arrest|custody|surrender|拘留|逮捕|抓获|投案", "charge": r"charg|indict|complaint|涉嫌|起诉",
            "verdict": r"convict|guilty|verdict|acquit|判决|宣判", "settlement": r"settle|和解|调解",
            "claim": r"sue|claim|seek|索赔|起诉|判令"}


def _date_of(kind: str, sent: str, offset: int, in_sentence: list) -> str | None:
    """The date in the sentence nearest the words that name this step ('pleaded guilty in August
    2020 and in December 2020 was sentenced': the sentence is dated December 2020)."""
    if not in_sentence:
        return None
    anchor = re.search(_ANCHORS[kind], sent, re.I)
    if not anchor:
        return in_sentence[0].value
    return min(in_sentence, key=lambda d: abs(d.start - offset - anchor.start())).value


def step(db: sqlite_utils.Database, doc_ids: list[int]) -> Callable[[], int]:
    """The pipeline step: begin extracting each document's legal facts (on kb.extract.workers'
    processes where it may use them); returns the function that waits for them, replaces the
    documents' rows in legal_facts and returns the rows written. The pipeline calls it after
    its later steps, so the extraction overlaps them."""
    doc_ids = list(dict.fromkeys(doc_ids))
    texts = store.texts(db, doc_ids)
    present = [doc_id for doc_id in doc_ids if doc_id in texts]
    found = workers.start(_facts_of, [texts[doc_id] for doc_id in present])

    def write() -> int:
        rows = [_row(doc_id, f) for doc_id, doc_facts in zip(present, found()) for f in doc_facts]
        stored.replace(db, doc_ids, rows)
        return len(rows)

    return write


def _facts_of(row: tuple) -> list[LegalFact]:
    return facts(*row)


def _row(doc_id: int, f: LegalFact) -> dict:
    row = {field.name: getattr(f, field.name) for field in fields(f)}  # asdict without its deep copies
    row["document_id"], row["start_offset"], row["end_offset"] = doc_id, row.pop("start"), row.pop("end")
    if row["case_number"]:
        row["case_number"] = normalise_case_number(row["case_number"])
    return row
