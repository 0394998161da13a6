"""Parse throughput of the scrapers on saved real pages, against a plain BeautifulSoup baseline.

Usage: .venv/bin/python bench/parse_throughput.py [--repeat N]

Three sets from ../shared/data, each timed in this process (best of N runs):
  news   - the saved news pages and the 181 article-extraction-benchmark pages,
           through the article scraper (kb.text.article: trafilatura + metadata + language)
  doj    - the 100 DOJ press releases as one API JSON page, through the doj scraper
  court  - court listing and docket pages (juriscraper's saved HTML) through the
           article scraper, and CourtListener's v4 search example through its scraper
Baseline on the same bytes: BeautifulSoup(html, "lxml").get_text() (for DOJ: json.loads
plus get_text of every body). Numbers are pages (or releases) per second.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from pathlib import Path

from bs4 import BeautifulSoup

from kb.settings import shared_data
from kb.sources.fetch import Response
from kb.sources.article import ArticleScraper
from kb.sources.sdk import Request
from kb.sources.courtlistener import CourtListenerScraper
from kb.sources.doj import DojScraper


def response(content: bytes, url: str, content_type: str) -> Response:
    return Response(url=url, requested_url=url, status=200, headers={"content-type": content_type},
                    content=content, fetched_at="2025-01-01T00:00:00+00:00")


def news_pages(shared: Path) -> list[bytes]:
    pages = shared / "news" / "pages"
    found = [p.read_bytes() for p in sorted(pages.glob("*.html"))]
    found += [p.read_bytes() for p in sorted(pages.glob("readability-*/source.html"))]
    found += [gzip.decompress(p.read_bytes()) for p in
              sorted((shared / "news" / "article-extraction-benchmark" / "html").glob("*.html.gz"))]
    return found


def court_pages(shared: Path) -> list[bytes]:
    court = shared / "court" / "juriscraper"
    return [p.read_bytes() for p in sorted(court.glob("*/*.html"))]


def doj_page(shared: Path) -> tuple[bytes, int]:
    csv.field_size_limit(10**8)
    with open(shared / "doj" / "press_releases_sample.csv", encoding="utf-8", newline="") as fh:
        results = [{"uuid": r["id"], "title": r["title"], "body": r["body"], "date": r["date"], "url": r["url"]}
                   for r in csv.DictReader(fh)]
    return json.dumps({"results": results}).encode(), len(results)


def best_of(repeat: int, work) -> float:
    """Fastest wall time of `repeat` runs of work()."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def bs4_text(pages: list[bytes]) -> None:
    for page in pages:
        BeautifulSoup(page, "lxml").get_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shared = shared_data()
    if not shared.is_dir():
        print(f"parse_throughput: no shared data at {shared} (set KB_SHARED_DATA); skipped")
        return 0

    article = ArticleScraper()
    courtlistener = CourtListenerScraper({"opinion_text": False})
    news, court = news_pages(shared), court_pages(shared)
    doj_bytes, releases = doj_page(shared)
    cl_bytes = (shared / "court" / "courtlistener" / "search_v4_type_o_example.json").read_bytes()

    def articles(pages):
        return lambda: [list(article.parse(response(p, "https://saved.example/", "text/html"), Request("x")))
                        for p in pages]

    def doj():
        scraper = DojScraper({"max_pages": 1})
        request = next(iter(scraper.start()))  # the first page, as a run asks for it
        list(scraper.parse(response(doj_bytes, request.url, "application/json"), request))

    def doj_baseline():
        for item in json.loads(doj_bytes)["results"]:
            BeautifulSoup(item["body"], "lxml").get_text()

    def cl():
        request = Request("https://saved.example/s", callback="parse_search", data={"type": "o", "query": "q", "page": 9})
        for _ in range(100):
            list(courtlistener.parse(response(cl_bytes, request.url, "application/json"), request))

    rows = [
        ("news pages -> article scraper", len(news), articles(news), lambda: bs4_text(news)),
        ("DOJ releases -> doj scraper", releases, doj, doj_baseline),
        ("court HTML pages -> article scraper", len(court), articles(court), lambda: bs4_text(court)),
        ("CourtListener v4 JSON x100 -> scraper", 100, cl, lambda: [json.loads(cl_bytes) for _ in range(100)]),
    ]
    print(f"{'set':<40} {'items':>6} {'ours/s':>10} {'baseline/s':>11}  baseline")
    for name, count, ours, baseline in rows:
        ours_s, base_s = best_of(args.repeat, ours), best_of(args.repeat, baseline)
        base_name = "json.loads" if name.startswith("CourtListener") else "bs4 get_text"
        print(f"{name:<40} {count:>6} {count / ours_s:>10.1f} {count / base_s:>11.1f}  {base_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
