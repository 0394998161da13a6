"""Measure incident linking on labelled same-case pairs, beside a simple baseline.

Builds the demo database as a user does (starter set, the seed article, the two
English news fixtures, VCDB) through the real write path (store, then
kb.incidents.link_documents), then scores pairwise precision and recall on
tests/data/same_case_pairs.tsv (curated <-> VCDB, VCDB <-> VCDB, news <-> curated,
EN <-> ZH; each label decided by reading the records) plus the VCDB pairs of
tests/fixtures/vcdb_pairs.json. Two records are "together" when their documents
end in one live incident (following merges).

Baseline, scored in the same run: same organisation (alias-folded) and same year.

Run: .venv/bin/python bench/linking.py [--sample-only]
(--sample-only imports only the VCDB records named in the pairs: quick, used by the test)
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import settings  # noqa: E402
from kb.extract import aliases, entities  # noqa: E402
from kb.incidents import link  # noqa: E402
from kb.storage.sql import transaction  # noqa: E402
from kb.storage.db import open_db  # noqa: E402
from kb.sources import files, starter
from kb.sources import vcdb  # noqa: E402
from kb.storage.store import save_many  # noqa: E402

PAIRS = ROOT / "tests" / "data" / "same_case_pairs.tsv"
VCDB_PAIRS = ROOT / "tests" / "fixtures" / "vcdb_pairs.json"
FIXTURES = ROOT / "tests" / "fixtures"


def load_pairs() -> list[dict]:
    lines = [line for line in PAIRS.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    pairs = [{**row, "same": row["same"] == "1"} for row in csv.DictReader(lines, delimiter="\t")]
    for p in json.loads(VCDB_PAIRS.read_text())["pairs"]:
        pairs.append({"a": f"vcdb:{p['a']}", "b": f"vcdb:{p['b']}", "same": p["same"], "kind": "vcdb-vcdb",
                      "how": p["why"]})
    return pairs


def file_path(ref: str) -> Path:
    kind, _, name = ref.partition(":")
    return settings.shared_data() / name if kind == "file" else FIXTURES / name


def build(db_path: Path, pairs: list[dict], sample_only: bool) -> tuple:
    """The demo database; returns (db, {ref: document id}, documents linked, link seconds)."""
    db = open_db(db_path)
    refs: dict[str, int] = {}
    changed = [doc_id for status, doc_id in save_many(db, starter.iter_records()) if status != "unchanged"]
    for ref in sorted({r for p in pairs for r in (p["a"], p["b"]) if r.startswith(("file:", "fixture:"))}):
        [(status, doc_id)] = save_many(db, [files.read_file(file_path(ref))])
        refs[ref] = doc_id
        changed.append(doc_id)
    folder = settings.shared_data() / "vcdb" / "json"
    if sample_only:
        wanted = {r[5:] for p in pairs for r in (p["a"], p["b"]) if r.startswith("vcdb:")}
        records = [vcdb.to_record(json.loads(f.read_text(encoding="utf-8"))) for f in sorted(folder.glob("*.json"))]
        records = [r for r in records if r.external_id in wanted]
    else:
        records = vcdb.read_folder(folder).records
    changed += [doc_id for status, doc_id in save_many(db, records) if status != "unchanged"]
    started = time.perf_counter()
    with transaction(db):  # what linking does to stored documents: extract their entities, then link them
        entities.step(db, changed)
        link.step(db, changed)
    seconds = time.perf_counter() - started
    for source, ext, doc_id in db.execute("SELECT source, external_id, id FROM documents"):
        refs.setdefault(f"{source}:{ext}", doc_id)
    return db, refs, len(changed), seconds


def final_incidents(db) -> dict[int, set[int]]:
    """Document id -> the live incidents it belongs to (merges followed)."""
    merged = dict(db.execute("SELECT id, merged_into FROM incidents WHERE merged_into IS NOT NULL").fetchall())

    def final(i: int) -> int:
        seen = set()
        while i in merged and i not in seen:
            seen.add(i)
            i = merged[i]
        return i

    out: dict[int, set[int]] = collections.defaultdict(set)
    for doc_id, inc_id in db.execute("SELECT document_id, incident_id FROM incident_documents"):
        out[doc_id].add(final(inc_id))
    return out


def baseline_keys(db, aliases) -> dict[int, set[tuple]]:
    """Document id -> (organisation, year) of its own incidents: the 'same org + same year' rule."""
    out: dict[int, set[tuple]] = collections.defaultdict(set)
    for doc_id, org, year, start, published in db.execute(
            "SELECT l.document_id, i.organisation, i.year, i.date_start, d.published FROM incident_documents l "
            "JOIN incidents i ON i.id = l.incident_id JOIN documents d ON d.id = l.document_id"):
        when = year or (start or published or "")[:4]
        if org and when:
            out[doc_id].add(((aliases.lookup("organisation", org) or org).lower(), str(when)))
    return out


def score(pairs: list[dict], together) -> dict:
    tp = fp = fn = tn = 0
    wrong = []
    for p in pairs:
        joined = together(p)
        if joined and p["same"]:
            tp += 1
        elif joined:
            fp += 1
            wrong.append(("merged", p))
        elif p["same"]:
            fn += 1
            wrong.append(("split", p))
        else:
            tn += 1
    return {"pairs": len(pairs), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
            "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0, "wrong": wrong}


def evaluate(sample_only: bool = False) -> dict:
    pairs = load_pairs()
    with tempfile.TemporaryDirectory() as tmp:
        db, refs, docs, seconds = build(Path(tmp) / "kb.db", pairs, sample_only)
        missing = sorted({r for p in pairs for r in (p["a"], p["b"]) if r not in refs})
        pairs = [p for p in pairs if p["a"] in refs and p["b"] in refs]
        incidents = final_incidents(db)
        keys = baseline_keys(db, aliases.load_aliases(db))
        linker = score(pairs, lambda p: bool(incidents[refs[p["a"]]] & incidents[refs[p["b"]]]))
        base = score(pairs, lambda p: bool(keys[refs[p["a"]]] & keys[refs[p["b"]]]))
        by_kind = {}
        for kind in sorted({p["kind"] for p in pairs}):
            sub = [p for p in pairs if p["kind"] == kind]
            by_kind[kind] = {k: v for k, v in score(sub, lambda p: bool(
                incidents[refs[p["a"]]] & incidents[refs[p["b"]]])).items() if k != "wrong"}
        curated_in_vcdb = [p for p in pairs if p["kind"] == "curated-vcdb" and p["same"]]
        joined = sum(bool(incidents[refs[p["a"]]] & incidents[refs[p["b"]]]) for p in curated_in_vcdb)
        live = db.execute("SELECT count(*) FROM incidents WHERE merged_into IS NULL").fetchone()[0]
        merges = db.execute("SELECT count(*) FROM incidents WHERE merged_by = 'auto'").fetchone()[0]
        review = db.execute("SELECT count(*) FROM link_candidates").fetchone()[0]
        db.conn.close()
    return {"linker": linker, "baseline": base, "by_kind": by_kind, "missing": missing,
            "curated_also_in_vcdb": len(curated_in_vcdb), "curated_joined_with_vcdb": joined,
            "documents_linked": docs, "link_seconds": round(seconds, 2),
            "link_docs_per_second": round(docs / seconds) if seconds else None,
            "live_incidents": live, "auto_merges": merges, "review_candidates": review}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample-only", action="store_true", help="import only the VCDB records in the pairs")
    args = parser.parse_args()
    out = evaluate(args.sample_only)
    wrong = out["linker"].pop("wrong")
    out["baseline"].pop("wrong")
    for name in ("linker", "baseline"):
        r = out.pop(name)
        print(f"{name:9s} precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
              f"(tp {r['tp']} fp {r['fp']} fn {r['fn']} tn {r['tn']} of {r['pairs']} pairs)")
    for kind, r in out.pop("by_kind").items():
        print(f"  {kind:16s} precision {r['precision']:.3f}  recall {r['recall']:.3f}  ({r['pairs']} pairs)")
    print(json.dumps(out))
    for what, p in wrong:
        print(f"  {what}: {p['a']} {p['b']} ({p['how']})")


if __name__ == "__main__":
    main()
