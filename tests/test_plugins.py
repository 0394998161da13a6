"""A package adds a source, or a search mode, with one module and one entry point, and kb changes not
a line: the new source is scraped, stored and linked and its example is checked by the generic
example test; the new mode answers in the CLI and on the web. Each package lives in a temporary
folder put on PYTHONPATH (its entry points in a dist-info folder beside it), so only the processes
started here see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kb.sources import registry

ROOT = Path(__file__).parent.parent
KB = [sys.executable, "-m", "kb.cli"]

TOY_SOURCE = '''
"""Notices of a made-up authority: one plain-text page each (title, blank line, text)."""

from kb.records import DocumentRecord
from kb.sources.sdk import Request, Scraper


class ToyScraper(Scraper):
    name = "toy"
    kind = "news"
    description = "A made-up authority's notices (plain text)"
    defaults = {"urls": []}

    def start(self):
        for url in self.settings["urls"]:
            yield Request(url, accept=("text/plain",), item=True)

    def parse(self, response, request):
        title, _, text = response.text().partition("\\n\\n")
        yield DocumentRecord(source=self.name, external_id=request.url, kind=self.kind, title=title.strip(),
                             text=text.strip(), url=response.url, language="en", **response.provenance())
'''

NOTICE = ("ByteDance sues former intern over sabotaged model training\n\n"
          "ByteDance sued its former intern Tian Keyu, who tampered with the code of model training jobs in "
          "June 2024, claiming 8 million yuan. The Haidian District People's Court accepted the case.\n")

TOY_MODE = '''
"""Keyword hits, newest first."""


class Newest:
    name = "newest"
    description = "keyword hits, newest first"

    def uses_vectors(self, ready):
        return False

    def rank(self, stages):
        hits = list(stages.keyword())
        if not hits:
            return {}
        marks = ", ".join("?" * len(hits))
        dates = dict(stages.db.execute(f"SELECT id, published FROM documents WHERE id IN ({marks})", hits).fetchall())
        newest_first = sorted(hits, key=lambda d: dates[d] or "", reverse=True)
        return {doc: float(len(hits) - i) for i, doc in enumerate(newest_first)}
'''


def plugin(folder: Path, name: str, modules: dict[str, str], entry_points: str, files: dict[str, bytes] = {}) -> dict:
    """A package of `modules` in `folder` with its entry points; the environment that sees it."""
    folder.mkdir(exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    info = folder / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def run(args: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_a_toy_source_is_one_module_one_entry_point_and_one_example(tmp_path, site):
    compare = {"request": {"url": "https://notices.example/1", "content_type": "text/plain"},
               "outputs": [{"source": "toy", "external_id": "https://notices.example/1", "kind": "news",
                            "title": NOTICE.split("\n")[0], "text": NOTICE.split("\n\n")[1].strip()[:300],
                            "url": "https://notices.example/1", "language": "en", "curated": False,
                            "text_chars": len(NOTICE.split("\n\n")[1].strip())}]}
    env = plugin(tmp_path / "plugin", "toy-source", {"toy_source": TOY_SOURCE},
                 "[kb.scrapers]\ntoy = toy_source:ToyScraper\n",
                 {"examples/toy/notice_example.txt": NOTICE.encode(),
                  "examples/toy/notice_example.compare.json": json.dumps(compare).encode()})
    site.page("/notice/1", NOTICE.encode(), "text/plain; charset=utf-8")
    db = tmp_path / "kb" / "kb.db"
    db.parent.mkdir()
    off = "".join(f"[sources.{name}]\nenabled = false\n" for name in registry())
    (db.parent / "sources.toml").write_text(
        f'[fetch]\nmin_delay = 0.0\nretries = 0\nallow = ["127.0.0.1"]\n\n{off}'
        f'[sources.toy]\nurls = ["{site.url("/notice/1")}"]\n', encoding="utf-8")
    run([*KB, "--db", str(db), "import", "starter"], env)

    scraped = run([*KB, "--db", str(db), "scrape"], env)  # every enabled source: the toy one
    assert "toy: ok: 1 seen, 1 new" in scraped.stdout
    shown = json.loads(run([*KB, "--db", str(db), "show", site.url("/notice/1"), "--json"], env).stdout)
    assert shown["source"] == "toy" and shown["title"] == NOTICE.split("\n")[0]
    assert [i["key"] for i in shown["incidents"]] == ["starter:bytedance-intern-model-training-sabotage-2024"]
    assert any(row["name"] == "toy" for row in json.loads(run([*KB, "--db", str(db), "sources", "--json"], env).stdout))

    checked = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "tests/test_source_examples.py", "-k", "notice_example"], env)
    assert "1 passed" in checked.stdout


def test_a_toy_search_mode_is_one_module_and_one_entry_point(tmp_path, starter_db):
    env = plugin(tmp_path / "plugin", "toy-mode", {"toy_mode": TOY_MODE}, "[kb.search_modes]\nnewest = toy_mode:Newest\n")
    assert "newest" in run([*KB, "search", "--help"], env).stdout
    hits = json.loads(run([*KB, "--db", str(starter_db), "search", "sabotage", "--mode", "newest", "--by",
                           "document", "-k", "10", "--json"], env).stdout)
    dates = [h["published"] or "" for h in hits]
    assert len(hits) == 10 and dates == sorted(dates, reverse=True)

    page = run([sys.executable, "-c", (
        "import asyncio, json, sys\n"
        "from kb.web.app import make_datasette\n"
        "site = make_datasette(sys.argv[1])\n"
        "got = asyncio.run(site.client.get('/-/kb-search.json?q=sabotage&mode=newest&by=document&k=10'))\n"
        "print(got.status_code, json.dumps([h['published'] for h in got.json()['hits']]))\n"), str(starter_db)], env)
    status, published = page.stdout.split(" ", 1)
    assert status == "200" and json.loads(published) == [h["published"] for h in hits]
