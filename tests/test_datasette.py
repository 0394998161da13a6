"""The Datasette site (`kb serve`, kb.web) run for real: in-process, on a port, in Chromium."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from kb import KB as KnowledgeBase
from kb.web.app import load_config, make_datasette
from kb.storage.db import open_db
from kb.records import DocumentRecord

BYTEDANCE = "bytedance-intern-model-training-sabotage-2024"
QUERY = "an intern sabotaged the training of an AI model"
XSS = "<script>alert(1)</script>"
KB = str(Path(sys.executable).parent / "kb")


def is_bytedance(hit: dict) -> bool:
    return hit["external_id"].startswith(BYTEDANCE) or hit["source"] == "安全内参"


def get(datasette, path: str) -> httpx.Response:
    return asyncio.run(datasette.client.get(path))


def started(datasette):
    asyncio.run(datasette.invoke_startup())
    return datasette


@pytest.fixture(scope="module")
def site(starter_db):
    """Datasette on the embedded starter database, as `kb serve` builds it."""
    return started(make_datasette(starter_db))


# --- search page and JSON ---

def test_json_search_finds_the_bytedance_incident_from_english(site):
    body = get(site, f"/-/kb-search.json?q={quote(QUERY)}&k=5").json()
    assert body["query"] == QUERY and body["mode"] == "hybrid" and body["by"] == "incident"
    top = body["hits"][0]
    assert is_bytedance(top) and top["title"].startswith("ByteDance")
    assert top["incident_path"] == f"/kb/incidents/{top['incident_id']}"
    assert {d["language"] for d in top["documents"]} >= {"en", "zh"}
    assert all(d["document_path"] == f"/kb/documents/{d['document_id']}" for d in top["documents"])
    assert top["why"]["semantic"] > 0 and top["why"]["terms"]
    assert len({h["incident_id"] for h in body["hits"]}) == len(body["hits"])


def test_json_search_by_document_keeps_the_document_fields(site):
    body = get(site, f"/-/kb-search.json?q={quote(QUERY)}&k=5&by=document").json()
    top = body["hits"][0]
    assert is_bytedance(top) and "documents" not in top
    assert {"rank", "score", "document_id", "source", "external_id", "url", "title", "published", "kind",
            "language", "snippet", "incident_id"} <= set(top)
    assert top["document_path"] == f"/kb/documents/{top['document_id']}"
    assert top["incident_path"] == f"/kb/incidents/{top['incident_id']}"


def test_search_page_shows_result_cards_with_links(site):
    for by in ("incident", "document"):
        response = get(site, f"/-/kb-search?q={quote(QUERY)}&by={by}")
        assert response.status_code == 200
        html = response.text
        hit = get(site, f"/-/kb-search.json?q={quote(QUERY)}&k=1&by={by}").json()["hits"][0]
        assert f'href="/kb/documents/{hit["document_id"]}"' in html
        assert f'href="/kb/incidents/{hit["incident_id"]}"' in html
        assert "ByteDance" in html and 'class="kb-card"' in html
        assert "<mark>" in html  # query words highlighted in snippets
    incident_page = get(site, f"/-/kb-search?q={quote(QUERY)}").text
    assert 'class="kb-why"' in incident_page and "by meaning" in incident_page
    assert "字节跳动" in incident_page  # the Chinese report is listed under the incident


def test_filters_and_modes_reach_the_search(site):
    news = get(site, "/-/kb-search.json?q=%E5%AE%9E%E4%B9%A0%E7%94%9F&kind=news&by=document").json()["hits"]
    assert news and {h["kind"] for h in news} == {"news"}
    for mode in ("keyword", "semantic"):
        hits = get(site, f"/-/kb-search.json?q={quote(QUERY)}&mode={mode}").json()["hits"]
        assert hits
    assert get(site, "/-/kb-search.json?q=trade+secrets&source=nowhere").json()["hits"] == []


def test_bad_input_gets_a_clear_message(site):
    response = get(site, "/-/kb-search.json?q=x&mode=psychic")
    assert response.status_code == 400 and "unknown mode" in response.json()["error"]
    page = get(site, "/-/kb-search?q=%21%21%21")
    assert page.status_code == 200 and "nothing to search for" in page.text
    empty = get(site, "/-/kb-search")
    assert empty.status_code == 200 and "Try:" in empty.text
    for args, reason in (("since=garbage", "not a date"), ("until=zzz", "not a date"), ("by=case", "unknown grouping")):
        response = get(site, f"/-/kb-search.json?q=sabotage&{args}")
        assert response.status_code == 400 and reason in response.json()["error"], args


def test_incident_filters_and_their_errors_speak_the_pages_words(site):
    body = get(site, "/-/kb-search.json?q=deleted+data&type=sabotage&year=2018-2021&k=20").json()
    assert body["filters"] == {"type": "sabotage", "year": "2018-2021", "scope": "in"}
    assert body["hits"] and all(h["incident_type"] == "sabotage" and 2018 <= h["year"] <= 2021 for h in body["hits"])
    page = get(site, "/-/kb-search?q=deleted+data&role=intern")
    assert 'name="role"' in page.text and '<option value="intern" selected>' in page.text
    for args, words in (("since=2015-13", "Published since: '2015-13' is not a date"),
                        ("year=20x", "Incident year: '20x' is not a year"),
                        ("type=burglary", "Incident type: 'burglary' is not one of")):
        response = get(site, f"/-/kb-search.json?q=sabotage&{args}")
        assert response.status_code == 400 and response.json()["error"].startswith(words), args
        html = get(site, f"/-/kb-search?q=sabotage&{args}").text
        assert words in html.replace("&#39;", "'") and "--" + args.split("=")[0] not in html, args


def test_a_cached_search_says_it_was_cached(site):
    path = "/-/kb-search.json?q=logic+bomb+planted+by+a+contractor&k=3"
    first, again = get(site, path).json(), get(site, path).json()
    assert not first["cached"] and again["cached"] and again["search_ms"] == first["search_ms"]
    assert "cached (searched in" in get(site, "/-/kb-search?q=logic+bomb+planted+by+a+contractor&k=3").text


def test_a_repeated_search_answers_alike_and_sees_documents_added_since(starter_copy, tmp_path):
    """Repeated and concurrent identical searches get one answer; a write to the KB shows at once."""
    site = started(make_datasette(starter_copy))
    path = "/-/kb-search.json?q=quartermaster+clerk+rerouted+warehouse+forklifts&by=document&k=3&scope=all"

    async def together(n):
        return await asyncio.gather(*(site.client.get(path) for _ in range(n)))

    first = [r.json() for r in asyncio.run(together(5))]
    assert all(r["hits"] == first[0]["hits"] for r in first) and first[0]["hits"]
    assert not first[0]["hits"][0]["title"].startswith("Quartermaster")
    assert get(site, path).json()["hits"] == first[0]["hits"]
    article = tmp_path / "clerk.md"
    article.write_text("# Quartermaster clerk rerouted warehouse forklifts to a private depot\n\n"
                       "A quartermaster clerk quietly rerouted forklifts to a private depot for two years.\n",
                       encoding="utf-8")
    for command in (["add", str(article)], ["embed"]):
        subprocess.run([KB, "--db", str(starter_copy), *command], check=True, capture_output=True, timeout=300)
    assert get(site, path).json()["hits"][0]["title"].startswith("Quartermaster clerk")


# --- SQL, tables, rows ---

def test_kb_search_works_inside_sql(site):
    sql = ("select id, external_id, source from documents where id in "
           "(select value from json_each(kb_search('intern sabotaged training', 10)))")
    rows = get(site, f"/kb.json?sql={quote(sql)}&_shape=array").json()
    assert any(is_bytedance(r) for r in rows)
    canned = get(site, f"/kb/kb_search_join.json?query={quote(QUERY)}&_shape=array").json()
    assert canned and any(name in canned[0]["title"] for name in ("ByteDance", "字节跳动"))


def test_kb_search_incidents_works_inside_sql(site, starter_db):
    sql = ("select i.id, i.title from json_each(kb_search_incidents('intern sabotaged training', 5)) hits "
           "join incidents i on i.id = hits.value order by hits.key")
    rows = get(site, f"/kb.json?sql={quote(sql)}&_shape=array").json()
    assert rows and rows[0]["title"].startswith("ByteDance")
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("call", ["kb_search('sabotage', 'ten')", "kb_search('sabotage', 0)",
                                  "kb_search_incidents('sabotage', 5000)", "kb_search('sabotage', 5, 'psychic')",
                                  "kb_search('')"])
def test_bad_sql_arguments_say_why(site, call):
    response = get(site, f"/kb.json?sql={quote('select ' + call + ' as r')}&_shape=array")
    assert response.status_code == 200, response.text
    error = json.loads(response.json()[0]["r"])["error"]
    assert any(word in error for word in ("k must be", "unknown mode", "empty query")), error


def test_many_sql_searches_in_one_query_keep_to_the_time_limit(starter_copy):
    """200 kb_search() calls in one SQL query stop at the SQL time limit instead of all running."""
    from datasette.app import Datasette

    from kb.search.searcher import get_searcher

    ds = started(Datasette([str(starter_copy)], metadata=load_config("kb"), settings={"sql_time_limit_ms": 300}))
    searcher, calls = get_searcher(starter_copy), []
    real_search = searcher.search
    searcher.search = lambda *args, **kwargs: calls.append(args) or real_search(*args, **kwargs)
    try:
        sql = ("select kb_search(title || ' ' || id, 5) from documents, "
               "(select 1 union select 2 union select 3 union select 4) limit 200")
        response = get(ds, f"/kb.json?sql={quote(sql)}&_shape=array")
        assert response.status_code == 400 and "too long" in response.text
        assert 0 < len(calls) < 200
        ok = get(ds, f"/kb.json?sql={quote(chr(39).join(['select kb_search(', 'logic bomb', ', 3) as r']))}&_shape=array")
        assert ok.status_code == 200 and json.loads(ok.json()[0]["r"])  # the budget refills while idle
    finally:
        del searcher.search


def test_default_facets_appear(site):
    docs = get(site, "/kb/documents.json").json()["facet_results"]
    assert {"source", "kind", "language"} <= set(docs)
    incidents = get(site, "/kb/incidents.json").json()["facet_results"]
    assert {"incident_type", "insider_role", "country", "year", "sector"} <= set(incidents)
    assert {"court", "case_type", "status"} <= set(get(site, "/kb/cases.json").json()["facet_results"])
    assert 'class="facet-info' in get(site, "/kb/incidents").text


def test_configured_titles_search_and_hidden_tables(site):
    index_page = get(site, "/").text
    assert "Insider Incident KB" in index_page and "/-/kb-search" in index_page
    tables = {t["name"]: t for t in get(site, "/kb.json").json()["tables"]}
    assert tables["chunks"]["hidden"] and tables["settings"]["hidden"]
    assert not tables["documents"]["hidden"]
    found = get(site, "/kb/documents.json?_search=sabotage&_shape=array").json()
    assert found and all("sabotag" in (d["title"] + d["text"]).lower() for d in found)
    for name in ("incidents_by_year_and_type", "court_cases_with_damages", "unlinked_documents",
                 "recent_runs_with_failures", "documents_by_year"):
        assert get(site, f"/kb/{name}.json").status_code == 200, name


def test_row_pages_link_documents_cases_and_sources(site, starter_db):
    db = open_db(starter_db)
    incident_id = db.execute(
        "SELECT l.incident_id FROM incident_documents l JOIN documents d ON d.id = l.document_id "
        "WHERE d.external_id LIKE ? LIMIT 1", [BYTEDANCE + "%"]).fetchone()[0]
    doc_ids = [r[0] for r in db.execute("SELECT document_id FROM incident_documents WHERE incident_id = ?",
                                        [incident_id])]
    case_ids = [r[0] for r in db.execute("SELECT id FROM cases WHERE incident_id = ?", [incident_id])]
    html = get(site, f"/kb/incidents/{incident_id}").text
    assert len(doc_ids) >= 2 and case_ids
    for doc_id in doc_ids:
        assert f'href="/kb/documents/{doc_id}"' in html
    for case_id in case_ids:
        assert f'href="/kb/cases/{case_id}"' in html
    assert 'href="/kb/document_list?source=' in html and 'href="https://mp.weixin.qq.com/' in html
    doc_html = get(site, f"/kb/documents/{doc_ids[0]}").text
    assert f'href="/kb/incidents/{incident_id}"' in doc_html


# --- hostile text, read-only, time limit ---

@pytest.fixture
def xss_db(starter_copy, model) -> tuple[Path, int]:
    """The starter copy plus a document whose title, text and URL are hostile."""
    kb = KnowledgeBase(starter_copy)
    result = kb.ingest([DocumentRecord(
        source="evil", external_id="xss-1", kind="news", title=XSS, published="2024-05-01", language="en",
        url="javascript:alert(3)",
        text="A disgruntled insider planted a logic bomb <img src=x onerror=alert(2)> in payroll.")])
    kb.embed(encoder=model)
    return starter_copy, result.documents[0][1]


def test_hostile_text_renders_escaped(xss_db):
    path, doc_id = xss_db
    ds = started(make_datasette(path))
    pages = {
        "search": get(ds, "/-/kb-search?q=script+alert+logic+bomb+payroll&mode=keyword&scope=all").text,
        "table": get(ds, "/kb/documents?_search=payroll").text,
        "row": get(ds, f"/kb/documents/{doc_id}").text,
    }
    for name, html in pages.items():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
        assert XSS not in html and "<img src=x" not in html, name
        assert 'href="javascript:' not in html, name
    assert f'href="/kb/documents/{doc_id}"' in pages["search"]


@pytest.mark.parametrize("public", [False, True])
def test_no_writes_through_the_web(starter_copy, public):
    ds = started(make_datasette(starter_copy, public=public))
    before = open_db(starter_copy).execute("SELECT count(*) FROM documents").fetchone()[0]
    response = get(ds, "/kb.json?sql=" + quote("delete from documents"))
    assert response.status_code == 400
    assert open_db(starter_copy).execute("SELECT count(*) FROM documents").fetchone()[0] == before
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # what a writing plugin would hit
        asyncio.run(ds.get_database("kb").execute_write("delete from documents"))
    assert open_db(starter_copy).execute("SELECT count(*) FROM documents").fetchone()[0] == before
    assert ds.setting("allow_csv_stream") is not public


def test_first_sql_search_is_not_cut_off_by_model_loading(starter_copy):
    """The model loads at startup, so kb_search fits a tight SQL time limit from the first query."""
    from datasette.app import Datasette

    ds = started(Datasette([str(starter_copy)], metadata=load_config("kb"),
                           settings={"sql_time_limit_ms": 1000}))  # the default
    # The self-join runs after kb_search returns, so SQLite checks the deadline then:
    # a model loaded inside the call (seconds) would get this query interrupted.
    sql = ("select kb_search('intern tampered with model training', 5, 'semantic') as ids, "
           "(select count(*) from chunks a, chunks b) as work")
    response = get(ds, f"/kb.json?sql={quote(sql)}&_shape=array")
    assert response.status_code == 200, response.text
    assert response.json()[0]["work"] > 1000


# --- a real server on a port ---

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def kb_serve(db_path: Path, *args: str):
    """`kb serve` in a subprocess; yields its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen([KB, "--db", str(db_path), "serve", "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(base + "/-/kb-search.json?q=ping", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kb serve did not start"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def hammer(base: str, stop: threading.Event, results: list) -> None:
    """Request search, SQL and table pages until told to stop, recording (status, path, body)."""
    sql = quote("select count(*) from documents where id in (select value from json_each(kb_search('insider', 20)))")
    paths = [f"/-/kb-search.json?q={quote(QUERY)}", f"/kb.json?sql={sql}", "/kb/documents.json?_size=5",
             "/kb/incidents", "/-/kb-search?q=deleted+servers"]
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            for path in paths:
                response = client.get(path)
                results.append((response.status_code, path, response.text))


def test_served_site_answers_while_the_kb_is_written(starter_copy, shared, tmp_path):
    """`kb add`, then the cron job `kb update` (scrape, link, embed, rewrite the index) run while clients read."""
    article = tmp_path / "new-incident.md"
    article.write_text("# Quartermaster clerk rerouted warehouse forklifts to a private depot\n\n"
                       "A quartermaster clerk quietly rerouted forklifts to a private depot for two years.\n",
                       encoding="utf-8")
    vcdb = tmp_path / "vcdb"
    vcdb.mkdir()
    for file in sorted((shared / "vcdb" / "json").glob("*.json"))[:300]:
        (vcdb / file.name).write_bytes(file.read_bytes())
    (starter_copy.parent / "sources.toml").write_text(f'[sources.vcdb]\nenabled = true\npath = "{vcdb}"\n')
    writer = f"{KB} --db {starter_copy} add {article} && {KB} --db {starter_copy} update vcdb"
    with kb_serve(starter_copy) as base:
        stop, results = threading.Event(), []
        clients = [threading.Thread(target=hammer, args=(base, stop, results)) for _ in range(3)]
        for thread in clients:
            thread.start()
        try:
            done = subprocess.run(writer, shell=True, capture_output=True, text=True, timeout=400)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        assert done.returncode == 0, done.stderr
        assert len(results) > 20
        failures = [(status, path, body[:200]) for status, path, body in results
                    if status != 200 or "database is locked" in body]
        assert not failures, failures[:5]
        hits = httpx.get(base + "/-/kb-search.json?q=clerk+rerouted+warehouse+forklifts+to+a+private+depot&mode=semantic&k=3&by=document&scope=all",
                         timeout=60).json()["hits"]
        assert hits[0]["title"].startswith("Quartermaster clerk")  # new index read without a restart
        vcdb = httpx.get(base + "/-/kb-search.json?q=vcdb&mode=keyword&source=vcdb&k=1", timeout=60)
        assert vcdb.status_code == 200


@pytest.mark.slow
def test_serve_embed_searches_by_keyword_at_once_then_by_meaning_as_the_vectors_land(tmp_path):
    """`kb serve --embed` on a database nothing is embedded in: keyword results with an "embedding"
    notice while another embedding run holds the index lock (the background one waits for it),
    then hybrid results once the background run has written the vectors, without a restart."""
    from kb import settings
    from kb.storage import files

    path = tmp_path / "kb.db"
    KnowledgeBase(path).import_source("starter")
    search = f"/-/kb-search.json?q={quote(QUERY)}&k=5"
    other_run = files.exclusive(settings.paths(path).index_lock)  # held as `kb embed` holds it
    other_run.__enter__()
    try:
        with kb_serve(path, "--embed") as base:
            body = httpx.get(base + search, timeout=60).json()
            assert body["embedding"]["embedded"] == 0 and body["embedding"]["running"] is True
            assert body["hits"][0]["title"].startswith("ByteDance") and body["hits"][0]["why"]["semantic"] is None
            assert "embedding has just begun" in httpx.get(base + "/-/kb-search", timeout=60).text
            time.sleep(2)  # the background run waits for the lock: no second embedding at once
            assert sqlite3.connect(path).execute("SELECT count(embedding) FROM chunks").fetchone()[0] == 0
            other_run.__exit__(None, None, None)
            other_run = None
            deadline = time.monotonic() + 300
            while "embedding" in (body := httpx.get(base + search, timeout=60).json()):
                assert time.monotonic() < deadline, body["embedding"]
                time.sleep(1)
            assert "warnings" not in body
            assert body["hits"][0]["title"].startswith("ByteDance") and body["hits"][0]["why"]["semantic"] > 0.3
    finally:
        if other_run:
            other_run.__exit__(None, None, None)


# --- the browser ---

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (.ci/run installs it); skip without it (CI: a failure, see conftest)."""
    path = shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.mark.required_in_ci
def test_browser_search(chromium, starter_db, tmp_path):
    from playwright import sync_api
    with kb_serve(starter_db) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(base + "/-/kb-search")
            page.fill("input[name=q]", "intern sabotaged model training")
            page.click("button[type=submit]")
            page.wait_for_selector(".kb-card")
            titles = page.locator(".kb-card h2").all_inner_texts()
            assert titles and "ByteDance" in titles[0]
            assert "q=intern+sabotaged+model+training" in page.url
            page.screenshot(path=str(tmp_path / "kb-search.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "kb-search.png").stat().st_size > 10_000
