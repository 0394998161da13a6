"""The readable site on a small real database (starter set, the seed article, a VCDB slice with a
merged pair, one hostile document; nothing embedded): every page kind over HTTP, and what a person
sees in headless Chromium on the incident, merged record, document, case and overview pages."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest

from kb import KB
from kb.records import DocumentRecord
from kb.web.app import make_datasette
from tests import test_datasette
from tests.test_datasette import CHROMIUM_ARGS, kb_serve

chromium = test_datasette.chromium  # the browser fixture

BYTEDANCE = "starter:bytedance-intern-model-training-sabotage-2024"
MERGED_PAIR = ("FF36D4B6-9F7A-434C-A5DB-8BD1E63BFD40", "09736D23-B152-48F9-A3ED-D55E22E7C2B6")  # one breach, twice
HOSTILE_TITLE = '<script>window.__pwned = 1</script> Payroll clerk <img src=x onerror="window.__pwned = 2">'
HOSTILE_TEXT = ('A payroll clerk diverted salaries. <script>window.__pwned = 3</script> '
                '<a href="javascript:window.__pwned = 4">read more</a> javascript:alert(1)')


@pytest.fixture(scope="module")
def site_db(tmp_path_factory, shared, vcdb_dir):
    """Built through the public write path: the starter set, the seed article, 40 VCDB records plus a
    pair VCDB records twice (merged by the linker), and a document whose title and text are hostile."""
    folder = tmp_path_factory.mktemp("site")
    vcdb = folder / "vcdb"
    vcdb.mkdir()
    files = sorted(vcdb_dir.glob("*.json"))[:40] + [vcdb_dir / f"{name}.json" for name in MERGED_PAIR]
    for file in files:
        (vcdb / file.name).write_bytes(file.read_bytes())
    kb = KB(folder / "kb.db")
    kb.import_source("starter")
    kb.ingest([kb.read_file(p) for p in (shared / "news" / "seed").glob("*.md")])
    kb.import_source("vcdb", vcdb)
    kb.ingest([DocumentRecord(source="evil", external_id="javascript:alert(5)", kind="news", title=HOSTILE_TITLE,
                              text=HOSTILE_TEXT, url="javascript:alert(6)", published="2024-05-01", language="en")])
    return kb


def ids(kb: KB, sql: str, params=()) -> list[int]:
    return [r[0] for r in kb.db.execute(sql, params)]


def row_path(datasette, table: str) -> str:
    """The page of the table's first row, by its primary key(s) as Datasette spells them."""
    from datasette.utils import path_from_row_pks

    body = get(datasette, f"/kb/{table}.json?_size=1&_shape=objects").json()
    pks = body["primary_keys"]
    return f"/kb/{table}/" + path_from_row_pks(body["rows"][0], pks or ["rowid"], not pks)


def get(datasette, path: str):
    return asyncio.run(datasette.client.get(path))


@pytest.fixture(scope="module")
def served(site_db):
    ds = make_datasette(site_db.path)
    asyncio.run(ds.invoke_startup())
    return ds


def test_every_page_kind_answers_quickly_and_escapes_hostile_text(site_db, served):
    kb = site_db
    hostile_doc = ids(kb, "SELECT id FROM documents WHERE source = 'evil'")[0]
    hostile_incident = ids(kb, "SELECT incident_id FROM incident_documents WHERE document_id = ?", [hostile_doc])[0]
    merged = ids(kb, "SELECT id FROM incidents WHERE merged_into IS NOT NULL")
    assert merged, "the VCDB pair was not merged"
    tables = [t["name"] for t in get(served, "/kb.json").json()["tables"] if not t["hidden"]]
    views = ["incident_list", "document_list"]
    pages = ["/", "/kb", *(f"/kb/{t}" for t in tables + views),
             *(row_path(served, t) for t in tables if ids(kb, f"SELECT count(*) FROM {t}")[0]),
             f"/kb/incidents/{merged[0]}", f"/kb/incidents/{hostile_incident}", f"/kb/documents/{hostile_doc}",
             "/kb/incidents?_search=intern", "/kb/incident_list?_search=intern", "/kb/documents?_search=payroll",
             "/kb/incidents_by_year_and_type", "/-/kb-search", "/-/kb-search?q=payroll+clerk&mode=keyword",
             f"/-/kb/incident/{hostile_incident}.json", f"/-/kb/incident/{hostile_incident}.iides.json",
             f"/-/kb/document/{hostile_doc}.json"]
    for path in pages:
        started = time.perf_counter()
        response = get(served, path)
        took = time.perf_counter() - started
        assert response.status_code == 200, (path, response.text[:500])
        assert took < 1.0, f"{path} took {took:.2f} s"
        if not response.headers["content-type"].startswith("text/html"):
            continue  # JSON carries the text as it is; its content type keeps browsers from running it
        html = response.text
        assert "<script>window.__pwned" not in html and "<img src=x" not in html, path
        assert 'href="javascript:' not in html.lower(), path
    page = get(served, f"/kb/documents/{hostile_doc}").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; Payroll clerk" in page
    assert "&lt;a href=&#34;javascript:window.__pwned = 4&#34;&gt;" in page or "&lt;a href=&quot;javascript" in page
    assert "Payroll clerk" in get(served, f"/kb/incidents/{hostile_incident}").text


def test_incident_json_is_what_kb_show_prints(site_db, served):
    incident_id = site_db.show(BYTEDANCE)["id"]
    body = get(served, f"/-/kb/incident/{incident_id}.json").json()
    assert body == json.loads(json.dumps(site_db.show(f"i{incident_id}"), default=str))
    assert body["legal_facts"] and body["facts"]
    bundle = get(served, f"/-/kb/incident/{incident_id}.iides.json").json()
    kinds = {o["id"].split("--")[0] for o in bundle["objects"]}
    assert {"incident", "insider", "organization", "court-case", "source"} <= kinds
    assert get(served, "/-/kb/incident/999999.json").status_code == 404
    page = get(served, f"/kb/incidents/{incident_id}").text
    assert f'href="/-/kb/incident/{incident_id}.json"' in page
    # The curated entry and the seed article both state the CNY 8M claim: the box lists it once.
    assert sum("800" in a["text"] and a["kind"] == "claimed" for a in body["amounts"]) >= 2
    assert page.count("CNY 8,000,000 (claimed)") == 1


def test_listings_are_slim_searchable_and_leave_out_merged_records(site_db, served):
    kb = site_db
    listed = get(served, "/kb/incident_list.json?_shape=array&_size=max").json()
    assert set(listed[0]) == {"id", "title", "organisation", "incident_type", "year", "country", "insider_role",
                              "sector", "scope", "legal_status"}
    merged = set(ids(kb, "SELECT id FROM incidents WHERE merged_into IS NOT NULL"))
    assert merged and not merged & {r["id"] for r in listed}
    assert len(listed) == kb.stats(scope="all")["incidents"]
    found = get(served, "/kb/incidents.json?_search=ByteDance&_shape=array").json()
    assert found and all("bytedance" in json.dumps(r).lower() for r in found)
    assert BYTEDANCE in {r["key"] for r in found}
    rows = get(served, "/kb/incidents_by_year_and_type.json?_shape=array").json()
    assert rows and "organisations" in rows[0] and isinstance(rows[0]["organisations"], int)
    html = get(served, "/kb/incidents_by_year_and_type").text
    first = rows[0]
    assert f'href="/kb/incident_list?scope=in&amp;year={first["year"]}&amp;incident_type={first["incident_type"]}"' in html
    tables = {t["name"]: t["hidden"] for t in get(served, "/kb.json").json()["tables"]}
    for internal in ("link_candidates", "document_sketches", "documents_segmented", "staged_vectors", "source_state",
                     "incidents_fts", "chunks"):
        assert tables[internal], internal
    assert get(served, "/kb.json?sql=select+count(*)+as+n+from+document_sketches&_shape=array").json()[0]["n"] > 0


def test_cells_format_money_lists_and_long_links(site_db, served):
    incident_id = site_db.show(BYTEDANCE)["id"]
    listing = get(served, f"/kb/cases?incident_id={incident_id}").text  # the claim, as the case's damages
    assert "CNY 8,000,000" in listing and "8000000.0" not in listing
    seed = ids(site_db, "SELECT id FROM documents WHERE source = '安全内参'")[0]
    links = get(served, f"/kb/incident_documents?document_id={seed}").text
    assert '<ul class="kb-cell-list"><li>organisation: ByteDance</li>' in links
    merged, target = site_db.db.execute("SELECT id, merged_into FROM incidents WHERE merged_into IS NOT NULL").fetchone()
    assert f'<a href="/kb/incidents/{target}">→ incident {target}</a>' in get(served, f"/kb/incidents/{merged}").text
    assert f'href="/kb/incidents/{target}"' in get(served, f"/kb/incidents?id={merged}").text
    docs = get(served, f"/kb/documents?id={seed}").text
    assert 'title="https://mp.weixin.qq.com/s?__biz=' in docs and ">mp.weixin.qq.com/s…</a>" in docs


def test_cases_have_names_and_parties_from_extraction(site_db):
    cases = [dict(zip(("case_name", "parties", "case_type", "claims"), r)) for r in site_db.db.execute(
        "SELECT case_name, parties, case_type, claims FROM cases")]
    assert cases and all(c["parties"] for c in cases)
    named = {c["case_name"] for c in cases}
    assert "Waymo LLC v. Uber Technologies, Inc." in named  # as its record names it
    assert "United States v. Zhang" in named
    bytedance = site_db.show(BYTEDANCE)["cases"][0]
    assert bytedance["case_name"] == "ByteDance v. 田某某"
    assert bytedance["parties"] == "ByteDance (plaintiff); 田某某 (defendant)"


def _only_local(page, base: str, seen: list) -> None:
    """Record every request the page makes; those not to the local server are aborted and kept."""
    host = urlsplit(base).netloc

    def check(route):
        url = route.request.url
        if url.startswith(("data:", "about:")) or urlsplit(url).netloc == host:
            route.continue_()
        else:
            seen.append(url)
            route.abort()

    page.route("**/*", check)


@pytest.mark.required_in_ci
def test_browser_reads_the_incident_document_case_and_overview(chromium, site_db, tmp_path):
    from playwright import sync_api

    kb = site_db
    incident = kb.show(BYTEDANCE)
    merged_id, target_id = kb.db.execute("SELECT id, merged_into FROM incidents WHERE merged_into IS NOT NULL").fetchone()
    seed = ids(kb, "SELECT id FROM documents WHERE source = '安全内参'")[0]
    case_id = ids(kb, "SELECT id FROM cases WHERE parties LIKE '%Xiaolang Zhang%'")[0]
    years = ids(kb, "SELECT DISTINCT year FROM incidents WHERE merged_into IS NULL AND year IS NOT NULL AND scope = 'in'")
    outside: list[str] = []
    with kb_serve(kb.path) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _only_local(page, base, outside)
            page.goto(f"{base}/kb/incidents/{incident['id']}")
            assert page.inner_text("h1") == incident["title"]
            assert incident["title"] in page.title()
            claim = page.locator(".kb-step-claim", has_text="CNY 8,000,000").first
            assert "claimed" in claim.inner_text() and "kb-not-stated" in claim.get_attribute("class")
            dated = page.locator(".kb-step:not(:has(.kb-repeat))").filter(has_not=page.locator(".kb-step-date", has_text="undated")).first
            assert len(dated.locator(".kb-source-sentence").inner_text()) > 20
            assert dated.locator(".kb-source-sentence cite a").first.get_attribute("href").startswith("/kb/documents/")
            headings = page.locator(".kb-main h3").all_inner_texts()
            assert any(h.startswith("English") for h in headings) and any(h.startswith("Chinese") for h in headings)
            page.screenshot(path=str(tmp_path / "incident.png"))

            page.goto(f"{base}/kb/incidents/{merged_id}")
            page.click(".kb-merged-into a")
            page.wait_for_url(f"{base}/kb/incidents/{target_id}")
            assert f'incident {merged_id}' in page.inner_text(".kb-merged-from")
            page.screenshot(path=str(tmp_path / "merged-target.png"))

            page.goto(f"{base}/kb/documents/{seed}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            first = page.locator(".kb-text p", has_text="字节跳动").first
            box = first.bounding_box()
            assert first.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 1400 and box["y"] < 1000
            assert page.locator(".kb-side a[href^='/kb/incidents/']").count() >= 1
            page.screenshot(path=str(tmp_path / "document.png"))

            page.goto(f"{base}/kb/cases/{case_id}")
            assert page.inner_text("h1") == "United States v. Zhang"
            dates = [d for d in page.locator(".kb-step-date").all_inner_texts() if d != "undated"]
            assert dates and dates == sorted(dates)
            assert page.locator(".kb-box a[href^='/kb/incidents/']").count() == 1
            page.screenshot(path=str(tmp_path / "case.png"))

            page.goto(base + "/")
            chart = page.locator("svg.kb-columns-chart")
            assert chart.locator("rect.kb-mark").count() == len(years)
            bar = chart.locator("a").first
            year_count = int(bar.locator("title").text_content().split(": ")[1])
            page.screenshot(path=str(tmp_path / "overview.png"))
            bar.click()
            page.wait_for_url("**/kb/incident_list?scope=in&year=*")
            assert page.locator("table.rows-and-columns tbody tr").count() == year_count
            assert page.evaluate("window.__pwned") is None
        finally:
            browser.close()
    assert not outside, outside
    assert all((tmp_path / f"{name}.png").stat().st_size > 20_000 for name in
               ("incident", "merged-target", "document", "case", "overview"))
