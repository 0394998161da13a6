"""What watches add to `kb update`: 50 keyword watches over an update that adds 200 documents,
timed beside the same update without watches, in one run.

    .venv/bin/python bench/watch_cost.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from kb import KB
from kb.records import DocumentRecord

WORDS = ["intern", "sabotage", "training", "database", "deleted", "contractor", "logic", "bomb", "trade",
         "secrets", "source", "code", "stolen", "weights", "cloud", "servers", "删库", "实习生", "商业秘密", "源代码"]


def records(n: int, offset: int):
    for i in range(n):
        words = " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6))
        yield DocumentRecord(source="bench", external_id=f"b{offset + i}", kind="news", title=f"Report {offset + i}",
                             text=f"An employee at company {i % 13} was accused. {words}.", language="en")


def one_update(watches: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        kb = KB(Path(tmp) / "kb.db", workers=1)
        kb.ingest(records(200, 0))  # what was there before
        for w in range(watches):
            kb.watch_add(f"w{w}", f"{WORDS[w % len(WORDS)]} {WORDS[(w * 3 + 1) % len(WORDS)]}", mode="keyword")
        started = time.perf_counter()
        kb.ingest(records(200, 1000))  # the update's 200 new documents (scraping aside)
        found = kb.evaluate_watches("bench") if watches else None
        took = time.perf_counter() - started
        if found:
            print(f"  {watches} watches: {found.evaluated} changed documents, {len(found.new)} matches")
        return took


if __name__ == "__main__":
    without = min(one_update(0) for _ in range(3))
    with_watches = min(one_update(50) for _ in range(3))
    print(f"update adding 200 documents: {without:.2f}s without watches, {with_watches:.2f}s with 50 "
          f"(+{100 * (with_watches - without) / without:.0f}%)")
