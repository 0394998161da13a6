"""VCDB import speed: documents/second of each stage, against reading the JSON files alone.

Usage: .venv/bin/python bench/import_speed.py [VCDB_JSON_FOLDER]
Compare with older code back to back, in one run (the machine is shared: compare ratios), e.g.
`git archive OLD | tar -x -C /tmp/old && (cd /tmp/old && PYTHONPATH=. ../.venv/bin/python bench/import_speed.py)`.
Stages, on one database: parse (VERIS JSON -> records), store (kb.storage.store, with
FTS triggers), process (kb.extract.pipeline.STEPS: entity extraction and incident
linking). Then, on a fresh database, the whole write path as `kb import vcdb`
runs it (KB.ingest, with KB_WORKERS worker processes: store and process, one transaction per batch), and
a second, idempotent import that finds everything unchanged.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from kb import KB, settings
from kb.extract import pipeline
from kb.sources import vcdb
from kb.storage.store import save_many


def timed(label: str, count: int, func):
    """Run `func`; print documents/s by the clock and by this process's CPU time (steadier where
    other processes share the machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<34} {count:>6} docs {seconds:7.2f}s {count / seconds:9.0f} docs/s "
          f"({count / max(cpu, 1e-9):6.0f} docs/s of CPU)")
    return result, seconds


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.shared_data() / "vcdb" / "json"
    files = sorted(folder.glob("*.json"))
    n = len(files)
    _, baseline = timed("baseline: json.load only", n, lambda: [json.loads(f.read_text()) for f in files])
    result, parse = timed("parse to records", n, lambda: vcdb.read_folder(folder))
    with tempfile.TemporaryDirectory() as tmp:
        kb = KB(Path(tmp) / "stages.db")
        stored, _ = timed("store (kb.storage.store)", n, lambda: save_many(kb.db, result.records))
        timed("process: extract + link (STEPS)", n, lambda: pipeline.finish(kb.db, processes=kb.settings.workers))
        kb = KB(Path(tmp) / "kb.db")
        done, write = timed("ingest: store + process", n, lambda: kb.ingest(result.records))
        again, _ = timed("re-import (all unchanged)", n, lambda: kb.ingest(vcdb.read_folder(folder).records))
    print(f"(worker processes: {kb.settings.workers}; KB_WORKERS sets them)")
    total = parse + write
    print(f"{'whole import (parse + ingest)':<34} {n:>6} docs {total:7.2f}s {n / total:9.0f} docs/s "
          f"({total / baseline:.1f}x the time of json.load alone)")
    new = sum(status == "new" for status, _ in stored)
    assert new == done.counts["new"] == n and again.counts["unchanged"] == n


if __name__ == "__main__":
    main()
