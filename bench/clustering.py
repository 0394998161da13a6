"""Measure incident clustering on VCDB: pairwise precision and recall.

Two measurements, both on real VERIS files (../shared/data/vcdb/json):

1. import: `kb import vcdb` as a user runs it (source links kept). Gold = VCDB's
   own incidents; every VCDB document must stay alone in its incident.
2. blind: the same records stored as plain documents (title, summary, date;
   no source link), so only kb.incidents decides what goes together. Scored
   on the labelled pairs in tests/fixtures/vcdb_pairs.json: "same" pairs are
   one event that VCDB coded twice (same victim, same text, same date);
   "different" pairs are same-victim different events (including near-identical
   template texts with other dates) and random pairs.

Run: .venv/bin/python bench/clustering.py [--sample-only] [--build-sample]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import settings  # noqa: E402
from kb.extract import entities  # noqa: E402
from kb.incidents import link  # noqa: E402
from kb.sources import vcdb  # noqa: E402
from kb.storage.db import open_db  # noqa: E402
from kb.storage.sql import transaction  # noqa: E402
from kb.storage.store import save_many  # noqa: E402

PAIRS = ROOT / "tests" / "fixtures" / "vcdb_pairs.json"


def vcdb_dir() -> Path:
    return settings.shared_data() / "vcdb" / "json"


def load_records(folder: Path) -> dict[str, dict]:
    out = {}
    for file in sorted(folder.glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        out[data["incident_id"]] = data
    return out


# Pairs the rules above label wrongly, corrected after reading both records.
READ_BY_HAND = {
    frozenset({"A144FC0C-40AE-4997-9B2A-D7DAF7816467", "C31B2716-19F4-46F5-BB66-201D645C4174"}):
        (True, "read: both report the May 2014 dumpster exposure of 1,500 patients' records"),
    frozenset({"972E0A54-3605-4932-9928-1726CF1AC93C", "D7982C0C-3681-4297-AB2A-D1CADB52A0EE"}):
        (None, "read: one article about a fine for five breaches, coded per breach: ambiguous"),
    frozenset({"6C6DCD1A-C5A6-44F6-97CC-4887EB254A62", "954195BD-0F88-49C9-A52B-6A265CDA873A"}):
        (None, "read: both summaries empty, nothing to decide on: ambiguous"),
}


def build_sample(folder: Path, seed: int = 7) -> dict:
    """Label pairs by reading VCDB records (rules below; the duplicates were read by hand)."""
    records = load_records(folder)
    rng = random.Random(seed)

    def shingles(d: dict) -> set[str]:
        w = re.findall(r"\w+", (d.get("summary") or "").lower())
        return {" ".join(w[i:i + 4]) for i in range(len(w) - 3)}

    def when(d: dict) -> tuple:
        t = (d.get("timeline") or {}).get("incident") or {}
        return t.get("year"), t.get("month"), t.get("day")

    by_victim = collections.defaultdict(list)
    for d in records.values():
        victim = (d.get("victim") or {}).get("victim_id")
        if victim and victim != "Unknown":
            by_victim[victim].append(d)
    same, template, hard = [], [], []
    for victim, docs in by_victim.items():
        for a, b in combinations(docs, 2):
            sa, sb = shingles(a), shingles(b)
            jac = len(sa & sb) / len(sa | sb) if sa and sb else 0.0
            ya, yb = when(a), when(b)
            pair = {"a": a["incident_id"], "b": b["incident_id"], "victim": victim}
            if jac >= 0.95 and ya[0] == yb[0] and (None in ya[1:] + yb[1:] or abs(ya[2] - yb[2]) <= 1):
                same.append({**pair, "same": True, "why": "same victim, same summary, same date: coded twice"})
            elif 0.5 <= jac < 0.95 and None not in ya + yb and ya != yb:
                template.append({**pair, "same": False, "why": f"template text (jaccard {jac:.2f}), other date"})
            elif jac < 0.3:
                hard.append({**pair, "same": False, "why": "same victim, different event"})
    ids = sorted(records)
    random_pairs = []
    while len(random_pairs) < 100:
        a, b = rng.sample(ids, 2)
        va = (records[a].get("victim") or {}).get("victim_id")
        if va != (records[b].get("victim") or {}).get("victim_id"):
            random_pairs.append({"a": a, "b": b, "same": False, "why": "random pair, other victims"})
    rng.shuffle(hard)
    rng.shuffle(template)
    va = [p for p in hard if "Veterans" in p["victim"]][:50]
    other = [p for p in hard if "Veterans" not in p["victim"]][:100]
    pairs = []
    for pair in same + template[:25] + va + other + random_pairs:
        verdict, why = READ_BY_HAND.get(frozenset({pair["a"], pair["b"]}), (pair["same"], pair["why"]))
        if verdict is not None:
            pairs.append({**pair, "same": verdict, "why": why})
    return {"note": __doc__.split("\n\n")[1].strip(), "pairs": pairs}


def blind_records(records: dict[str, dict], ids: list[str]):
    """VCDB records as plain documents: what a news scraper would store, no incident."""
    for incident_id in ids:
        rec = vcdb.to_record(records[incident_id])
        rec.source, rec.kind, rec.incident = "bench", "news", None
        yield rec


def pairwise(db, pairs: list[dict], key_of) -> dict:
    """Precision/recall of 'same incident' over labelled pairs."""
    incidents = collections.defaultdict(set)
    for ext, inc in db.execute(
            "SELECT d.external_id, l.incident_id FROM documents d JOIN incident_documents l ON l.document_id = d.id"):
        incidents[ext].add(inc)
    tp = fp = fn = tn = 0
    wrong = []
    for p in pairs:
        together = bool(incidents[key_of(p["a"])] & incidents[key_of(p["b"])])
        if together and p["same"]:
            tp += 1
        elif together:
            fp += 1
            wrong.append(p)
        elif p["same"]:
            fn += 1
            wrong.append(p)
        else:
            tn += 1
    return {"pairs": len(pairs), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "wrong": wrong}


def link_documents(db, doc_ids: list[int]) -> dict:
    """What linking does to stored documents: extract their entities, then link them."""
    with transaction(db):
        entities.step(db, doc_ids)
        return link.step(db, doc_ids)


def run_blind(db_path: Path, records: dict[str, dict], pairs: list[dict], ids: list[str]) -> dict:
    db = open_db(db_path)
    save_many(db, blind_records(records, ids))
    doc_ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    started = time.perf_counter()
    counts = link_documents(db, doc_ids)
    seconds = time.perf_counter() - started
    result = pairwise(db, pairs, lambda x: x)
    result.update(documents=len(doc_ids), incidents=db.execute(
        "SELECT count(DISTINCT incident_id) FROM incident_documents").fetchone()[0],
        link_seconds=round(seconds, 2), **{f"link_{k}": v for k, v in counts.items()})
    return result


def run_import(db_path: Path, folder: Path, pairs: list[dict]) -> dict:
    db = open_db(db_path)
    result = vcdb.read_folder(folder)
    save_many(db, result.records)
    doc_ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    started = time.perf_counter()
    link_documents(db, doc_ids)
    seconds = time.perf_counter() - started
    shared = db.execute("SELECT count(*) FROM (SELECT incident_id FROM incident_documents "
                        "GROUP BY incident_id HAVING count(*) > 1)").fetchone()[0]
    out = pairwise(db, [p for p in pairs if not p["same"]], lambda x: x)
    return {"documents": len(doc_ids), "incidents_with_several_documents": shared,
            "different_pairs_merged": out["fp"], "link_seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-sample", action="store_true", help=f"rewrite {PAIRS.name} from VCDB")
    parser.add_argument("--sample-only", action="store_true", help="blind run on the sampled records only")
    args = parser.parse_args()
    folder = vcdb_dir()
    if args.build_sample:
        PAIRS.parent.mkdir(parents=True, exist_ok=True)
        PAIRS.write_text(json.dumps(build_sample(folder), indent=1) + "\n")
    pairs = json.loads(PAIRS.read_text())["pairs"]
    records = load_records(folder)
    sample_ids = sorted({p[k] for p in pairs for k in ("a", "b")})
    print(f"labelled pairs: {len(pairs)} ({sum(p['same'] for p in pairs)} same), "
          f"{len(sample_ids)} records")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.sample_only:
            print("import:", json.dumps(run_import(Path(tmp) / "import.db", folder, pairs)))
        ids = sample_ids if args.sample_only else sorted(records)
        blind = run_blind(Path(tmp) / "blind.db", records, pairs, ids)
    wrong = blind.pop("wrong")
    print("blind:", json.dumps(blind))
    for p in wrong:
        print(f"  {'split' if p['same'] else 'merged'}: {p['a']} {p['b']} ({p['why']})")


if __name__ == "__main__":
    main()
