"""Precision and recall of the scope rules (kb/incidents/scope.py) on the labelled set, beside the
baseline (VERIS `action.misuse` with `malicious` intent alone), in one run.

Usage: .venv/bin/python bench/scope.py [--vcdb FOLDER] [--errors]
The labels (tests/data/scope_labels.tsv) were decided by hand from each record before the rules
were written; the curated entries (kb/data/starter.json) are labelled there too. "in" is the
positive class; records labelled "unsure" are left out of precision and recall and counted apart.
The baseline: `misuse` among the actions and a malicious motive (VERIS here has no intent
flag: any motive but NA, Unknown and Convenience). The rules were tuned on the first 200 VCDB labels only: the rest are reported as held out.
"""

import argparse
import json
import sys
from pathlib import Path

from kb import settings
from kb.incidents.scope import decide
from kb.sources import starter, vcdb

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "scope_labels.tsv"
TUNED_ON = 200  # the first VCDB labels the rules were tuned on


def read_labels(path: Path = LABELS) -> list[tuple[str, str, str]]:
    """(key, label, reason) per labelled record, in file order."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return [tuple(line.split("\t", 2)) for line in lines[1:]]


def labelled_incidents(folder: Path) -> dict[str, tuple[dict, bool]]:
    """key → (incident fields as the rules see them, whether VERIS `malicious` misuse: the baseline)."""
    out = {}
    for file in folder.glob("*.json"):
        data = json.loads(file.read_text(encoding="utf-8"))
        rec = vcdb.to_record(data)
        inc = {**rec.incident.row(), "veris": rec.meta["veris"]}
        malicious = "misuse" in (data.get("action") or {}) and _malicious(data)
        out[rec.incident.key] = (inc, malicious)
    for rec in starter.iter_records():
        if rec.language == "en":
            out[rec.incident.key] = (rec.incident.row(), True)
    return out


def _malicious(data: dict) -> bool:
    """VERIS keeps no intent flag in these records: a malicious motive is one of its motives
    other than NA, Unknown and Convenience (Financial, Grudge, Espionage, Fun, Ideology...)."""
    actor = data.get("actor") or {}
    motives = {m for body in actor.values() if isinstance(body, dict) for m in body.get("motive") or []}
    return bool(motives - {"NA", "Unknown", "Convenience"})


def score(pairs: list[tuple[str, bool]]) -> dict:
    """Precision and recall of "in" over (label, predicted in) pairs whose label is in or out."""
    sure = [(label, pred) for label, pred in pairs if label != "unsure"]
    tp = sum(1 for label, pred in sure if label == "in" and pred)
    fp = sum(1 for label, pred in sure if label == "out" and pred)
    fn = sum(1 for label, pred in sure if label == "in" and not pred)
    return {"n": len(sure), "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vcdb", type=Path, default=settings.shared_data() / "vcdb" / "json")
    parser.add_argument("--errors", action="store_true", help="list the records the rules get wrong")
    args = parser.parse_args()
    if not args.vcdb.is_dir():
        sys.exit(f"VCDB folder {args.vcdb} not found (set KB_SHARED_DATA)")
    incidents = labelled_incidents(args.vcdb)
    labels = read_labels()
    missing = [key for key, _, _ in labels if key not in incidents]
    if missing:
        sys.exit(f"{len(missing)} labelled records not found, e.g. {missing[0]}")
    rows = []
    for n, (key, label, reason) in enumerate(labels):
        inc, baseline = incidents[key]
        scope, why = decide(inc)
        part = "curated" if key.startswith("starter:") else "tuned" if n < TUNED_ON else "held out"
        rows.append((key, label, part, scope, why, baseline, reason))
    unlabelled = sorted(set(k for k in incidents if k.startswith("starter:")) - {k for k, _, _ in labels})
    if unlabelled:
        print(f"{len(unlabelled)} curated entries are not labelled yet (add them to {LABELS.name}), "
              f"e.g. {unlabelled[0]}")
    counts = {lab: sum(1 for r in rows if r[1] == lab) for lab in ("in", "out", "unsure")}
    print(f"{len(rows)} labelled records ({sum(1 for r in rows if r[2] != 'curated')} VCDB, "
          f"{sum(1 for r in rows if r[2] == 'curated')} curated): {counts}")
    print(f"{'set':<12}{'method':<10}{'n':>5}{'precision':>11}{'recall':>8}")
    for name, keep in (("all", lambda r: True), ("VCDB", lambda r: r[2] != "curated"), ("VCDB tuned", lambda r: r[2] == "tuned"),
                       ("VCDB held", lambda r: r[2] == "held out"), ("curated", lambda r: r[2] == "curated")):
        part = [r for r in rows if keep(r)]
        for method, pred in (("baseline", lambda r: r[5]), ("rules", lambda r: r[3] == "in")):
            s = score([(r[1], pred(r)) for r in part])
            print(f"{name:<12}{method:<10}{s['n']:>5}{s['precision']:>11.3f}{s['recall']:>8.3f}")
    unsure = [r for r in rows if r[1] == "unsure"]
    print(f"labelled unsure ({len(unsure)}): rules say " +
          ", ".join(f"{s} {sum(1 for r in unsure if r[3] == s)}" for s in ("in", "out", "unsure")))
    sure = [r for r in rows if r[1] != "unsure"]
    print(f"rules say unsure on {sum(1 for r in sure if r[3] == 'unsure')} of {len(sure)} records labelled in or out")
    if args.errors:
        for key, label, part, scope, why, _, reason in rows:
            if label != scope:
                print(f"\n{key} [{part}] label {label}: {reason}\n  rules {scope}: {why}")


if __name__ == "__main__":
    main()
