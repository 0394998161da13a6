"""Precision and recall of legal-fact extraction (sentence, plea, charge) on a labelled set.

The labels (tests/data/legal_labels.json) were written by reading 100 DOJ press
releases and 107 Chinese case-fact texts from China Judgments Online. A fact
matches a label per document: sentences by (type, quantity in months/hours or
amount), pleas by status, charges by offence. Only imposed sentences count;
maxima ("faces up to 10 years") found as sentences are false positives.
The baseline, run in the same process, is what the export read before kb.extract.legal:
"sentenced to N years/months in prison", "pleaded guilty", and statute entities.

    python bench/legal_extraction.py            # prints P/R per kind
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

from kb.settings import shared_data
from kb.extract.facts import statutes
from kb.extract.legal import facts
from kb.text.html import html_to_text

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "legal_labels.json"
KINDS = ("sentence", "plea", "charge")


def corpus_texts(shared: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(corpus, id) -> (title, text) for the DOJ releases and the Chinese case texts."""
    csv.field_size_limit(2**31 - 1)
    texts = {}
    with (shared / "doj" / "press_releases_sample.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts[("doj", row["id"])] = (" ".join(row["title"].split()), html_to_text(row["body"]))
    with (shared / "court" / "zh-lecard" / "query.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts[("zh-lecard", str(row["ridx"]))] = ("", row["q"])
    return texts


def _sentence_key(item) -> tuple:
    kind, *rest = item
    if len(rest) == 1:  # an amount
        return (kind, round(float(rest[0])))
    quantity, unit = rest
    factor = {"year": 12, "month": 1}.get(unit)
    return (kind, quantity * factor, "month") if factor and quantity is not None else (kind, quantity, unit)


def predicted(title: str, text: str) -> dict[str, set]:
    found: dict[str, set] = {k: set() for k in KINDS}
    for f in facts(title, text):
        if f.kind == "sentence" and f.status == "imposed":
            item = [f.sentence_type, f.amount] if f.amount is not None else [f.sentence_type, f.quantity, f.unit]
            found["sentence"].add(_sentence_key(item))
        elif f.kind == "plea":
            found["plea"].add(f.status)
        elif f.kind == "charge" and "U.S.C." not in f.statute:  # labels name offences, not code sections
            found["charge"].add(f.statute)
    return found


def baseline(title: str, text: str) -> dict[str, set]:
    """The rules the IIDES export used before legal facts existed."""
    full = f"{title}\n\n{text}"
    sentences = {_sentence_key(["incarceration", int(m.group(1)), m.group(2).lower()])
                 for m in re.finditer(r"sentenced to (\d+) (year|month)s? (?:in|of) (?:federal )?prison", full, re.I)}
    pleas = {"guilty"} if re.search(r"pleaded guilty", full, re.I) else set()
    return {"sentence": sentences, "plea": pleas, "charge": {e.value or e.name for e in statutes(full)}}


def expected(doc: dict) -> dict[str, set]:
    return {"sentence": {_sentence_key(s) for s in doc["sentence"]}, "plea": set(doc["plea"]),
            "charge": set(doc["charge"])}


def score(shared: Path, extractor=predicted) -> dict[str, dict[str, float]]:
    """Micro precision/recall per kind over every labelled document."""
    texts = corpus_texts(shared)
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["documents"]
    tally = {k: [0, 0, 0] for k in KINDS}  # true positives, predicted, expected
    for doc in labels:
        got, want = extractor(*texts[(doc["corpus"], doc["id"])]), expected(doc)
        for k in KINDS:
            tally[k][0] += len(got[k] & want[k])
            tally[k][1] += len(got[k])
            tally[k][2] += len(want[k])
    return {k: {"precision": tp / p if p else 1.0, "recall": tp / e if e else 1.0, "expected": e, "predicted": p}
            for k, (tp, p, e) in tally.items()}


def main() -> int:
    shared = shared_data()
    if not (shared / "doj" / "press_releases_sample.csv").exists():
        print(f"shared data not found at {shared}", file=sys.stderr)
        return 1
    for name, extractor in (("baseline", baseline), ("kb.extract.legal", predicted)):
        for kind, s in score(shared, extractor).items():
            print(f"{name:9s} {kind:9s} precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
                  f"(expected {s['expected']}, predicted {s['predicted']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
