"""Watches on a real database: the CLI, once-only matches, the Atom feed, the page, the browser."""

from __future__ import annotations

import asyncio
import json

import feedparser
import pytest

from kb import KB
from kb.web.app import make_datasette
from tests import test_datasette
from tests.test_datasette import CHROMIUM_ARGS, kb_serve

chromium = test_datasette.chromium  # the browser fixture

HOSTILE = '<script>window.__pwned = 1</script> javascript:alert(1) & "x"'


@pytest.fixture
def watched(db_path, kb):
    """Two keyword watches added before the starter set is imported, then evaluated once."""
    kb("watch", "add", "wiped", "删库", "--mode", "keyword")
    kb("watch", "add", "sabotage", "intern sabotaged model training", "--mode", "keyword", "--language", "en")
    base = KB(db_path)
    base.import_source("starter")
    base.evaluate_watches("test")
    return base


def test_matches_are_recorded_once_and_read_once(watched, kb):
    first = kb.json("watch", "show", "wiped")["matches"]
    assert first and all(m["reason"]["passed"] == "terms" and m["reason"]["terms"] for m in first)
    assert any("删库" in m["reason"]["terms"] for m in first)
    assert kb.json("watch", "show", "wiped")["matches"] == []  # read: nothing new
    assert len(kb.json("watch", "show", "wiped", "--since", "2000")["matches"]) == len(first)
    again = watched.evaluate_watches("test")
    assert again.new == []  # looked at again (the same second), recorded nothing twice
    sabotage = kb.json("watch", "show", "sabotage")["matches"]
    assert any("ByteDance" in m["title"] for m in sabotage) and all(m["title"].isascii() for m in sabotage)
    digest = kb.json("watch", "notify")
    assert len(digest) == len(first) + len(sabotage) and kb.json("watch", "notify") == []


def test_bad_input_is_one_error_line_and_changes_nothing(watched, kb):
    for args, says in [(["add", "wiped", "x"], "exists"), (["add", "a b", "x"], "bad watch name"),
                       (["add", "n", "x", "--since", "20x"], "not a date"), (["add", "n"], "give one of"),
                       (["add", "n", "--incident", "i99999"], "nothing found"), (["rm", "nope"], "no watch"),
                       (["show", "nope"], "no watch"), (["add", "n", "x", "--floor", "2"], "floor")]:
        result = kb("watch", *args, ok=False)
        assert result.exit_code == 1 and result.stderr.count("Error:") == 1 and says in result.stderr, args
    assert [w["name"] for w in kb.json("watch", "list")] == ["sabotage", "wiped"]


def test_a_broken_watch_records_its_error_and_the_others_still_run(watched, db_path, kb):
    watched.db.execute("UPDATE watches SET filters = '{\"since\": \"nope\"}' WHERE name = 'sabotage'")
    kb("watch", "add", "incident", "--incident", "i1")
    watched.db.execute("UPDATE documents SET updated_at = '2999-01-01T00:00:00+00:00'")
    result = watched.evaluate_watches("test")
    assert list(result.failed) == ["sabotage"] and "not a date" in result.failed["sabotage"]
    assert any(m["watch"] == "incident" for m in result.new)
    assert "not a date" in kb("watch", "list").stdout
    runs = kb.json("runs")
    assert runs[0]["source"] == "watches" and runs[0]["status"] == "partial" and runs[0]["errors"]


def feed_of(db_path, name: str, public: bool = False):
    async def go():
        ds = make_datasette(db_path, public=public)
        await ds.invoke_startup()
        return await ds.client.get(f"/-/kb-watch/{name}.atom"), await ds.client.get("/-/kb-watches")
    return asyncio.run(go())


def test_the_feed_is_valid_atom_with_stable_ids_and_hostile_titles_escaped(watched, db_path):
    # the newest match, so it is both on the page (latest matches only) and in the feed
    watched.db.execute("UPDATE watch_matches SET title = ? WHERE id = (SELECT max(id) FROM watch_matches WHERE watch_id = "
                       "(SELECT id FROM watches WHERE name = 'wiped'))", [HOSTILE])
    feed, page = feed_of(db_path, "wiped")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo and parsed.version == "atom10"
    entries = parsed.entries
    assert entries and len({e.id for e in entries}) == len(entries)
    assert all(e.id.startswith("tag:insider-incident-kb,2024:watch/") and e.updated and e.summary for e in entries)
    assert all("/incidents/" in e.link for e in entries)
    assert HOSTILE in [e.title for e in entries] and b"<script>" not in feed.content
    assert feedparser.parse(feed_of(db_path, "wiped")[0].content).entries[0].id == entries[0].id
    assert page.status_code == 200 and "<script>window" not in page.text and "&lt;script&gt;" in page.text


def test_watch_this_search_needs_the_permission_on_a_public_server(watched, db_path):
    async def post(public: bool):
        ds = make_datasette(db_path, public=public)
        await ds.invoke_startup()
        return await ds.client.post("/-/kb-watches", data={"name": f"p{int(public)}", "q": "logic bomb",
                                                            "mode": "keyword"})
    assert asyncio.run(post(True)).status_code == 403
    assert "p1" not in [w["name"] for w in watched.watches()]
    assert asyncio.run(post(False)).status_code == 201
    assert "p0" in [w["name"] for w in watched.watches()]


@pytest.mark.required_in_ci
def test_browser_watches_this_search_and_reads_its_feed(chromium, watched, db_path):
    from playwright import sync_api
    # the newest match, so it is both on the page (latest matches only) and in the feed
    watched.db.execute("UPDATE watch_matches SET title = ? WHERE id = (SELECT max(id) FROM watch_matches WHERE watch_id = "
                       "(SELECT id FROM watches WHERE name = 'wiped'))", [HOSTILE])
    with kb_serve(db_path) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/-/kb-search?q=logic+bomb&mode=keyword")
            page.fill("input[name=name]", "bombs")
            page.click("button:has-text('Watch this search')")
            page.wait_for_selector("#watch-bombs")
            assert "Watching 'logic bomb' as bombs" in page.inner_text(".kb-message")
            assert page.evaluate("window.__pwned") is None
            assert HOSTILE in page.inner_text("#watch-wiped")
            href = page.get_attribute("#watch-wiped a.kb-feed", "href")
            feed = feedparser.parse(page.request.get(base + href).body())
            assert not feed.bozo and HOSTILE in [e.title for e in feed.entries]
        finally:
            browser.close()
    assert json.loads(json.dumps([w["name"] for w in watched.watches()])) == ["bombs", "sabotage", "wiped"]
