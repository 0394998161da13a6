"""The Datasette site on a tiny database built through `KB` (the starter set, nothing embedded): no model,
no shared data, so it runs in `make test-fast`. The embedded site is tested in test_datasette.py."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from kb import KB
from kb.web.app import make_datasette

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The starter set plus one hostile file, written through the public write path."""
    path = tmp_path_factory.mktemp("tiny") / "kb.db"
    kb = KB(path).open()
    kb.import_source("starter")
    hostile = path.parent / "hostile.html"
    hostile.write_text(f"<html><head><title>{XSS} insider wiped the servers</title></head><body><p>"
                       f"A former engineer {XSS} deleted production databases after he was fired. " * 5
                       + "</p></body></html>", encoding="utf-8")
    kb.ingest([kb.read_file(hostile)])
    datasette = make_datasette(path)
    asyncio.run(datasette.invoke_startup())
    return kb, datasette


def get(datasette, path: str):
    return asyncio.run(datasette.client.get(path))


def test_keyword_search_page_shows_incident_cards_with_links(tiny):
    kb, site = tiny
    page = get(site, "/-/kb-search?q=" + quote("intern model training") + "&mode=keyword")
    assert page.status_code == 200
    body = get(site, "/-/kb-search.json?q=" + quote("intern model training") + "&mode=keyword&k=5").json()
    assert body["mode"] == "keyword" and body["hits"]
    top = body["hits"][0]
    assert "ByteDance" in top["title"]
    assert f'href="{top["incident_path"]}"' in page.text and "ByteDance" in page.text


def test_the_web_answers_like_the_kb_object(tiny):
    kb, site = tiny
    hits = kb.search("删库", k=3, mode="keyword")
    body = get(site, "/-/kb-search.json?q=" + quote("删库") + "&mode=keyword&k=3").json()
    assert [h["incident_id"] for h in body["hits"]] == [h.incident_id for h in hits.hits]


def test_client_errors_are_400_and_server_state_is_503(tiny):
    _, site = tiny
    bad = get(site, "/-/kb-search.json?q=x&mode=psychic")
    assert bad.status_code == 400 and "unknown mode" in bad.json()["error"]
    bad_date = get(site, "/-/kb-search.json?q=x&since=2015-13")
    assert bad_date.status_code == 400 and "2015-13" in bad_date.json()["error"]
    not_embedded = get(site, "/-/kb-search.json?q=sabotage&mode=semantic")
    assert not_embedded.status_code == 503 and "embed" in not_embedded.json()["error"]
    for query in ("删库 " * 500, ("删库实习生篡改代码" * 300)[:1998]):  # SQLite's expression depth; 2,000 tokens
        long = get(site, "/-/kb-search.json?mode=keyword&q=" + quote(query))
        assert long.status_code == 400 and "at most 200" in long.json()["error"]
        page = get(site, "/-/kb-search?mode=keyword&q=" + quote(query))
        assert "at most 200" in page.text
    sql = get(site, "/kb.json?_shape=array&sql=" + quote("select kb_search(:q, 5, 'keyword') as hits") + "&q="
              + quote("删库 " * 500))
    assert sql.status_code == 200 and "at most 200" in sql.text


def test_row_pages_link_an_incident_to_its_documents(tiny):
    kb, site = tiny
    hit = kb.search("ByteDance intern", k=1, mode="keyword").hits[0]
    shown = kb.show(f"i{hit.incident_id}")
    html = get(site, f"/kb/incidents/{hit.incident_id}").text
    assert shown["documents"]
    for document in shown["documents"]:
        assert f'href="/kb/documents/{document["id"]}"' in html


def test_hostile_text_is_escaped_on_every_page(tiny):
    kb, site = tiny
    body = get(site, "/-/kb-search.json?q=" + quote("wiped the servers") + "&mode=keyword&by=document").json()
    hostile = next(h for h in body["hits"] if "wiped" in h["title"])
    for path in ("/-/kb-search?q=" + quote("wiped the servers") + "&mode=keyword&by=document",
                 f"/kb/documents/{hostile['document_id']}"):
        html = get(site, path).text
        assert XSS not in html and "&lt;script&gt;" in html, path


def test_pages_a_person_reads_answer_on_the_tiny_site(tiny):
    kb, site = tiny
    incident = kb.show("starter:bytedance-intern-model-training-sabotage-2024")
    case = next(c for c in kb.db.execute("SELECT id, case_name, parties FROM cases WHERE case_name LIKE 'Waymo%'"))
    assert case[2] == "Waymo LLC; Uber Technologies, Inc.; Ottomotto LLC; Otto Trucking LLC"  # as its record names them
    pages = {"/": "Incidents per year", f"/kb/incidents/{incident['id']}": f"<h1>{incident['title']}</h1>",
             f"/kb/cases/{case[0]}": f"<h1>{case[1]}</h1>", "/kb/incident_list": "rows sorted by year"}
    for path, shown in pages.items():
        response = get(site, path)
        assert response.status_code == 200 and shown in response.text, path
    assert get(site, f"/-/kb/incident/{incident['id']}.json").json()["key"] == incident["key"]


def test_with_nothing_embedded_the_page_and_its_json_say_keyword_results_only(tiny):
    _, site = tiny
    landing = get(site, "/-/kb-search")
    assert "nothing is embedded yet: keyword results only" in landing.text
    body = get(site, "/-/kb-search.json?q=" + quote("intern model training")).json()
    assert body["mode"] == "hybrid" and body["hits"] and body["hits"][0]["why"]["semantic"] is None
    assert body["embedding"]["embedded"] == 0 and body["embedding"]["running"] is False
    assert body["embedding"]["passages"] + body["embedding"]["unchunked_documents"] > 0
    assert any("keyword results only" in w for w in body["warnings"])
    page = get(site, "/-/kb-search?q=" + quote("intern model training"))
    assert "nothing is embedded yet: keyword results only" in page.text and "ByteDance" in page.text
    keyword = get(site, "/-/kb-search.json?q=" + quote("intern model training") + "&mode=keyword").json()
    assert "embedding" not in keyword and "warnings" not in keyword  # keywords were asked for


def test_snippets_mark_whole_words_as_the_keyword_stage_matches_them(tiny):
    """`intern` marks "interns" but not "internal"; Chinese terms are marked as written; the text stays escaped."""
    from kb.web.search_page import highlight

    marked = str(highlight(f"An intern and two interns passed an internal audit; 实习生 {XSS}", "intern", ["实习生"]))
    assert marked.count("<mark>") == 3 and "<mark>intern</mark>al" not in marked and "internal audit" in marked
    assert "<mark>实习生</mark>" in marked and "&lt;script&gt;" in marked
    _, datasette = tiny
    page = get(datasette, "/-/kb-search?q=intern&mode=keyword").text
    assert "<mark>intern</mark>" in page and "<mark>internal" not in page.lower()
