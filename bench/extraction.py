"""Article-body benchmark of kb.text.article on scrapinghub's article-extraction-benchmark.

Usage: .venv/bin/python bench/extraction.py [--data DIR] [--limit N]

Scores like the benchmark's own evaluate.py: per page, true positives, false
positives and false negatives over 4-token shingles (tokens = \\w+ runs),
normalized to sum to one; precision and recall are averaged over pages and F1
is computed from those averages. Also prints pages/second and the plain
BeautifulSoup get_text() baseline from the same run.
Published F1: trafilatura 0.958, best 0.970, plain BeautifulSoup 0.665.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bs4 import BeautifulSoup  # noqa: E402

from kb.settings import shared_data  # noqa: E402
from kb.text.article import extract_article  # noqa: E402

SHINGLE_SIZE = 4
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE_SIZE) -> Counter:
    """Counts of n-token shingles; a text shorter than n is one shingle."""
    tokens = _TOKEN.findall(text or "")
    count = max(1, len(tokens) - n + 1)
    return Counter(tuple(tokens[i : i + n]) for i in range(count) if tokens[i : i + n])


def page_scores(true: str, pred: str) -> tuple[float, float, float]:
    """(tp, fp, fn) over shingles for one page, normalized to sum to 1."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    """Precision with the benchmark's conventions for empty texts."""
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def recall(tp: float, fp: float, fn: float) -> float:
    """Recall with the benchmark's conventions for empty texts."""
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


def metrics(scores: list[tuple[float, float, float]]) -> dict[str, float]:
    """Mean precision and recall over pages, and F1 of those means."""
    p = statistics.mean(precision(*s) for s in scores if s[0] + s[1] > 0)
    r = statistics.mean(recall(*s) for s in scores if s[0] + s[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def bs4_text(html: str) -> str:
    """The benchmark's baseline: all text of the page."""
    return BeautifulSoup(html, "html.parser").get_text(separator=" ", strip=True)


def run(data: Path, limit: int | None) -> None:
    """Extract every page with kb.text.article and the baseline, then print the metrics."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    paths = sorted((data / "html").glob("*.html.gz"))[:limit]
    pages = {p.name.split(".")[0]: gzip.decompress(p.read_bytes()) for p in paths}
    ours, baseline, worst = [], [], []
    started = time.perf_counter()
    for key, raw in pages.items():
        article = extract_article(raw, url=truth[key].get("url"))
        score = page_scores(truth[key].get("articleBody", ""), article.text)
        ours.append(score)
        worst.append((score[0], key, truth[key].get("url")))
    elapsed = time.perf_counter() - started
    for key, raw in pages.items():
        text = bs4_text(raw.decode("utf-8", errors="replace"))
        baseline.append(page_scores(truth[key].get("articleBody", ""), text))
    report("kb.text.article", metrics(ours))
    report("beautifulsoup", metrics(baseline))
    print(f"{len(pages)} pages in {elapsed:.1f}s: {len(pages) / elapsed:.1f} pages/s (kb.text.article)")
    print("lowest-overlap pages (tp share, key, url):")
    for tp, key, url in sorted(worst)[:5]:
        print(f"  {tp:.3f} {key[:12]} {url}")


def report(name: str, m: dict[str, float]) -> None:
    """One result line."""
    print(f"{name:<14} precision={m['precision']:.3f} recall={m['recall']:.3f} F1={m['f1']:.3f}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = shared_data() / "news" / "article-extraction-benchmark"
    parser.add_argument("--data", type=Path, default=default, help="benchmark folder (html/, ground-truth.json)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = parser.parse_args()
    if not (args.data / "ground-truth.json").exists():
        sys.exit(f"benchmark data not found in {args.data}")
    run(args.data, args.limit)


if __name__ == "__main__":
    main()
