"""What watches add to `kb update`: a real update that finds 200 new VCDB records (stored,
extracted, linked, embedded, indexed), run without watches and with 50, in one run.

    .venv/bin/python bench/watch_cost.py [--new 200] [--watches 50]

A knowledge base of 300 VCDB records, embedded once, is copied for each run; its
sources.toml points the vcdb source at a folder of those 300 and 200 more, every other
source off. The 50 watches are the labelled English and Chinese queries of tests/data
(hybrid, the default mode). Printed: each update's time, the watches' own evaluation time (best of two alternated runs each),
the documents they looked at and the matches they recorded. Embedding the new records is
most of an update: the figure that matters to cron is the whole update's.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from kb import KB, settings
from kb.search.evaluate import read_labelled
from kb.sources import registry

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
BASE = 300


def sources_toml(folder: Path, vcdb: Path) -> None:
    others = "".join(f"[sources.{name}]\nenabled = false\n" for name in registry() if name != "vcdb")
    (folder / "sources.toml").write_text(f'{others}[sources.vcdb]\nenabled = true\npath = "{vcdb}"\n')


def update(base: Path, folder: Path, vcdb: Path, queries: list[str]) -> tuple[float, object]:
    """(seconds of one `kb update` over a copy of `base`, what its watches found)."""
    folder.mkdir()
    for name in ("kb.db", "kb.db.faiss"):
        shutil.copy(base.parent / name, folder / name)
    sources_toml(folder, vcdb)
    kb = KB(folder / "kb.db").open()
    for number, query in enumerate(queries):
        kb.watch_add(f"w{number}", query)
    started = time.perf_counter()
    report = kb.update(["vcdb"])  # named: run although the base run made it not due
    return time.perf_counter() - started, report.watches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=200, help="new records the update finds")
    parser.add_argument("--watches", type=int, default=50)
    args = parser.parse_args()
    files = sorted((settings.shared_data() / "vcdb" / "json").glob("*.json"))[:BASE + args.new]
    queries = [q for name in ("vcdb_queries.tsv", "vcdb_queries_validation.tsv", "crosslingual_zh_en.tsv")
               for q, _ in read_labelled(DATA / name)]
    queries = (queries[:args.watches - 10] + queries[-10:])[:args.watches]  # 10 of them Chinese
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old, both = tmp / "old", tmp / "both"
        for folder, chosen in ((old, files[:BASE]), (both, files)):
            folder.mkdir()
            for file in chosen:
                (folder / file.name).symlink_to(file)
        base = tmp / "base" / "kb.db"
        base.parent.mkdir()
        sources_toml(base.parent, old)
        KB(base).open().update()  # the 300 records, stored and embedded: what was there before
        sqlite3.connect(base).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
        # alternated, best of two each: embedding time varies more than the watches cost
        runs = [update(base, tmp / f"{kind}{i}", both, queries if kind == "with" else [])
                for i in range(2) for kind in ("without", "with")]
        without = min(seconds for seconds, found in runs[0::2])
        with_watches, found = min(runs[1::2], key=lambda run: run[0])
    print(f"kb update finding {args.new} new VCDB records (beside {BASE}):")
    print(f"  without watches   {without:7.1f} s")
    print(f"  with {args.watches} watches   {with_watches:7.1f} s  (+{100 * (with_watches - without) / without:.1f}%)")
    print(f"  the watches' evaluation: {found.seconds:.2f} s over {found.evaluated} changed documents, "
          f"{len(found.new)} matches recorded")


if __name__ == "__main__":
    main()
