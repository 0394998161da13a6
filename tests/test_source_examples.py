"""Every source's example pages parse to the records beside them (juriscraper's example + compare pattern).

A source keeps its examples in `examples/<source name>/` beside its module: each
`NAME_example.EXT` is a page as the source's server sends it, and
`NAME_example.compare.json` says how it was asked for (`request`: url, callback,
content_type, data, settings, since) and what the scraper must return
(`outputs`, records without provenance, long texts cut). This one test finds
them all, for every registered source, kb's own and any package's. After a
deliberate change, rewrite the compare files with KB_UPDATE_GOLDEN=1 and review
the diff.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest

from kb.records import DocumentRecord
from kb.sources import registry
from kb.sources.fetch import Response
from kb.sources.sdk import Cursor, ItemError, Request

PROVENANCE = ("fetched_at", "http_etag", "http_last_modified", "raw_sha256", "raw_path")
TEXT_SHOWN = 300
SUFFIX = ".compare.json"


def response(content: bytes, url: str, content_type: str = "text/html") -> Response:
    """A fetched page as kb.sources.fetch hands it to scrapers."""
    return Response(url=url, requested_url=url, status=200, headers={"content-type": content_type},
                    content=content, fetched_at="2025-01-01T00:00:00+00:00", sha256="0" * 64,
                    raw_path="raw/00/" + "0" * 64 + ".gz")


def plain(output) -> dict:
    """A scraper output as compared: records without provenance, long texts cut."""
    if isinstance(output, DocumentRecord):
        data = {k: v for k, v in asdict(output).items() if k not in PROVENANCE and v not in (None, [], {})}
        data["text_chars"] = len(output.text)
        data["text"] = output.text[:TEXT_SHOWN]
        return data
    if isinstance(output, Request):
        data = {k: plain(v) for k, v in output.data.items()}
        return {"request": output.url, "callback": output.callback, "item": output.item, "data": data}
    if isinstance(output, ItemError):
        return {"error": output.where, "reason": output.reason}
    if isinstance(output, Cursor):
        return {"cursor": output.state}
    return output


def as_compared(outputs) -> list:
    return json.loads(json.dumps([plain(o) for o in outputs], ensure_ascii=False, default=str))


def examples() -> list[tuple[str, Path]]:
    """(source name, example page) of every registered source, from its module's examples folder."""
    found = []
    for name, cls in registry().items():
        folder = Path(inspect.getfile(cls)).parent / "examples" / name
        found += [(name, page) for page in sorted(folder.glob("*_example.*")) if not page.name.endswith(SUFFIX)]
    return found


def run_example(name: str, page: Path) -> tuple[list, Path, dict]:
    """What the source makes of its example page: (outputs, compare file, its contents)."""
    compare = page.with_name(page.name[:page.name.index("_example.")] + "_example" + SUFFIX)
    spec = json.loads(compare.read_text(encoding="utf-8"))
    asked = spec["request"]
    since = date.fromisoformat(asked["since"]) if asked.get("since") else None
    scraper = registry()[name](asked.get("settings"), since=since)
    request = Request(asked["url"], callback=asked.get("callback", "parse"), data=asked.get("data", {}))
    fetched = response(page.read_bytes(), asked["url"], asked.get("content_type", "text/html"))
    return list(scraper.parse(fetched, request)), compare, spec


@pytest.mark.parametrize("name, page", examples(), ids=lambda value: getattr(value, "name", value))
def test_the_example_parses_to_its_compare_file(name, page):
    outputs, compare, spec = run_example(name, page)
    if os.environ.get("KB_UPDATE_GOLDEN"):
        spec["outputs"] = as_compared(outputs)
        compare.write_text(json.dumps(spec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert as_compared(outputs) == spec["outputs"]


def test_every_example_has_a_compare_file_and_kb_sources_have_examples():
    found = examples()
    assert {name for name, _ in found} >= {"rss", "wechat", "courtlistener", "uk_caselaw", "article", "doj"}
    for _, page in found:
        assert page.with_name(page.name[:page.name.index("_example.")] + "_example" + SUFFIX).is_file(), page
