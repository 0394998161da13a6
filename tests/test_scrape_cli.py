"""`kb scrape`, `kb sources`, `kb add URL`, `kb extract` end to end: real CLI, real SQLite,
a real HTTP server on 127.0.0.1 serving saved pages and misbehaving on purpose.

The sources file beside the test database points the sources at that server,
allows 127.0.0.1 (refused by default) and shortens delays and timeouts.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.test_scrapers import EXAMPLES, INPUTS, doj_api_pages
from tests.webserver import drop, failing, huge, redirect, serve, stall, truncated

FAST_FETCH = {"min_delay": 0, "retries": 1, "backoff": 0.05, "max_retry_wait": 2, "connect_timeout": 1,
              "read_timeout": 0.5, "total_timeout": 5, "max_bytes": 1_000_000, "allow": ["127.0.0.1"]}


def configure(db_path: Path, **sources) -> None:
    """Write sources.toml beside the database: fast fetch settings and the given sources."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):  # a TOML inline table
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    lines = ["[fetch]"] + [f"{k} = {value(v)}" for k, v in FAST_FETCH.items()]
    for name, settings in sources.items():
        lines += [f"[sources.{name}]"] + [f"{k} = {value(v)}" for k, v in settings.items()]
    (db_path.parent / "sources.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def rows(db, sql, params=()):
    return [tuple(r) for r in db.execute(sql, params).fetchall()]


@pytest.fixture
def news_page(shared) -> bytes:
    return (shared / "news" / "pages" / "threatpost.com.android.html").read_bytes()


# --- every kind of misbehaviour: the run finishes, the failure is recorded, nothing
# --- half-written is stored, and the next run picks the item up -----------------------------

MISBEHAVIOURS = {
    "500": (lambda site, page: failing(0, 500), "HTTP 500 (gave up after 2 tries)"),
    "429-retry-after-too-long": (lambda site, page: failing(0, 429, retry_after="3600"), "over the 2s cap"),
    "stalled": (lambda site, page: stall(1.5), "timed out"),
    "dropped": (lambda site, page: drop, "connection failed"),
    "truncated": (lambda site, page: truncated(page[:5000]), "connection failed"),
    "50-MB-body": (lambda site, page: huge(50 * 1024 * 1024), "1000000-byte cap"),
    "redirect-loop": (lambda site, page: redirect("/story"), "redirect loop"),
    "redirect-to-metadata-address": (lambda site, page: redirect("http://169.254.169.254/latest/"),
                                     "non-public address (169.254.169.254)"),
    "wrong-content-type": (lambda site, page: serve(page, "application/pdf"), "unexpected content type"),
}


@pytest.mark.parametrize("name", list(MISBEHAVIOURS))
def test_misbehaving_page_is_recorded_then_retried(name, site, news_page, kb, db, db_path):
    make, reason = MISBEHAVIOURS[name]
    site.route("/story", make(site, news_page))
    url = site.url("/story")
    configure(db_path, article={"urls": [url]})

    first = kb("scrape", "article", ok=False)
    assert first.exit_code == 1 and "article: failed: 0 seen, 0 new" in first.output
    [(run_id, status, failed)] = rows(db, "SELECT id, status, failed FROM runs")
    assert (status, failed) == ("failed", 1)
    [(where, why)] = rows(db, "SELECT url, reason FROM run_errors WHERE run_id = ?", [run_id])
    assert where == url and reason in why
    assert rows(db, "SELECT count(*) FROM documents") == [(0,)]
    assert rows(db, "SELECT count(*) FROM fetch_state") == [(0,)]

    site.page("/story", news_page, etag='"v1"')
    second = kb("scrape", "article")
    assert "article: ok: 1 seen, 1 new" in second.output
    [(doc_url, raw_sha, raw_path, etag)] = rows(db, "SELECT url, raw_sha256, raw_path, http_etag FROM documents")
    assert doc_url == url and etag == '"v1"'
    assert gzip.decompress((db_path.parent / raw_path).read_bytes()) == news_page and raw_sha in raw_path


def test_robots_disallow_is_recorded_then_retried_once_allowed(site, news_page, kb, db, db_path):
    site.page("/robots.txt", b"User-agent: *\nDisallow: /story\n", "text/plain")
    site.page("/story", news_page)
    configure(db_path, article={"urls": [site.url("/story")]})
    assert "disallowed by robots.txt" in kb("scrape", "article", ok=False).output
    assert site.seen("/story") == []
    site.page("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    assert "1 new" in kb("scrape", "article").output


def test_retry_after_within_the_cap_is_waited_out_in_the_same_run(site, news_page, kb, db_path):
    site.route("/story", failing(1, 429, then=serve(news_page), retry_after="1"))
    configure(db_path, article={"urls": [site.url("/story")]})
    assert "article: ok: 1 seen, 1 new" in kb("scrape", "article").output
    assert len(site.seen("/story")) == 2


# --- rss: partial failure, retry, then conditional GET --------------------------------------


def test_rss_run_retries_failures_and_then_downloads_nothing(site, shared, news_page, kb, db, db_path):
    feed = (EXAMPLES / "rss" / "feed_example.rss").read_text(encoding="utf-8").replace("https://news.example", site.url(""))
    site.page("/feed", feed.encode(), "application/rss+xml", etag='"feed-1"')
    site.page("/former-employee-wiped-servers", news_page, etag='"a-1"')
    site.route("/zh/intern-tampered-code", failing(0, 500))
    configure(db_path, rss={"feeds": [site.url("/feed")]})

    first = kb("scrape", "rss", "--since", "2024-01-01", ok=False)
    assert "rss: partial: 1 seen, 1 new, 0 updated, 0 unchanged, 1 failed" in first.output
    assert rows(db, "SELECT count(*) FROM fetch_state WHERE url = ?", [site.url("/feed")]) == [(0,)]
    assert site.seen("/patch-tuesday") == [] and site.seen("/insider-trading") == []  # filtered out

    zh_page = (shared / "news" / "pages" / "xinhuanet.com.c_1125597921.html").read_bytes()
    site.page("/zh/intern-tampered-code", zh_page, etag='"z-1"')
    second = kb("scrape", "rss", "--since", "2024-01-01")
    assert "rss: ok: 2 seen, 1 new, 0 updated, 1 unchanged, 0 failed" in second.output
    feed_requests = site.seen("/feed")
    assert "if-none-match" not in feed_requests[1]  # fetched in full: an item below it had failed
    assert site.seen("/former-employee-wiped-servers")[1]["if-none-match"] == '"a-1"'  # answered 304

    third = kb("scrape", "rss", "--since", "2024-01-01")
    assert "rss: ok: 0 seen, 0 new, 0 updated, 0 unchanged, 0 failed" in third.output
    assert site.seen("/feed")[2]["if-none-match"] == '"feed-1"'
    assert len(site.seen("/former-employee-wiped-servers")) == 2  # nothing re-downloaded
    assert rows(db, "SELECT count(*), count(DISTINCT raw_sha256) FROM documents") == [(2, 2)]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("partial",), ("ok",), ("ok",)]


# --- doj: the real sample through the API shape, limits, hostile JSON ---------------------------


def serve_doj(site, pages: list[bytes]) -> None:
    def handler(req):
        page = int(parse_qs(urlsplit(req.path).query).get("page", ["0"])[0])
        body = pages[page] if page < len(pages) else b'{"results": []}'
        serve(body, "application/json", etag=f'"page-{page}-{len(body)}"')(req)
    site.route("/api/v1/press_releases.json", handler)


def test_doj_scrape_limit_and_resume(site, shared, kb, db, db_path):
    serve_doj(site, doj_api_pages(shared))
    configure(db_path, doj={"api_url": site.url("/api/v1/press_releases.json"), "backfill_from": 2000})
    assert "doj: limited: 3 seen, 3 new" in kb("scrape", "doj", "--limit", "3").output
    assert rows(db, "SELECT count(*) FROM fetch_state") == [(0,)]  # page 0 was not finished
    assert "doj: ok: 7 seen, 4 new, 0 updated, 3 unchanged" in kb("scrape", "doj").output
    assert "doj: ok: 0 seen, 0 new" in kb("scrape", "doj").output  # page 0 answered 304
    page0 = [h for p, h in site.requests if "page=0" in p]
    assert page0[-1]["if-none-match"].startswith('"page-0-')
    [(kind, published, meta)] = rows(db, "SELECT kind, published, meta FROM documents WHERE external_id = 'sample-52'")
    assert kind == "press_release" and published == "2009-01-14" and "illegally accessing" in meta


def test_hostile_json_fails_the_item_and_the_rest_is_kept(site, kb, db, db_path):
    good = {"uuid": "u1", "title": "Former employee stole trade secrets", "body": "<p>He copied files.</p>",
            "date": "1700000000", "url": "https://www.justice.gov/opa/pr/u1"}
    bad = {"uuid": "u2", "title": {"nested": "object"}, "body": 42, "url": "https://www.justice.gov/opa/pr/u2"}
    pages = [json.dumps({"results": [good, bad]}).encode()]
    serve_doj(site, pages)
    configure(db_path, doj={"api_url": site.url("/api/v1/press_releases.json"), "max_pages": 1})
    result = kb("scrape", "doj", ok=False)
    assert "doj: partial: 1 seen, 1 new" in result.output
    assert "failed https://www.justice.gov/opa/pr/u2: malformed release:" in result.output
    assert rows(db, "SELECT external_id FROM documents") == [("u1",)]
    # The broken release is unreadable, not missed: the walk's cursor moved past it, so later runs do
    # not stall on it (a failed fetch, by contrast, is redone: tests/test_courts.py).
    assert "doj: ok: 0 seen, 0 new, 0 updated, 0 unchanged, 0 failed" in kb("scrape", "doj").output


# --- courtlistener and uk_caselaw through the server ------------------------------------------


def test_courtlistener_with_token_paging_and_opinion_text(site, shared, kb, db, db_path, monkeypatch):
    example = json.loads((shared / "court" / "courtlistener" / "search_v4_type_o_example.json").read_text())
    example["next"] = site.url("/api/rest/v4/search/?cursor=page2")  # the saved one points at the live site
    last = {**example, "next": None, "results": []}
    site.page("/api/rest/v4/search/", json.dumps(example).encode(), "application/json")
    site.route("/api/rest/v4/search/?cursor=page2", serve(json.dumps(last).encode(), "application/json"))
    site.page("/api/rest/v4/opinions/6489975/", (INPUTS / "courtlistener_opinion.json").read_bytes(), "application/json")
    monkeypatch.setenv("KB_TEST_CL_TOKEN", "secret-token")
    configure(db_path, courtlistener={"base_url": site.url(""), "token_env": "KB_TEST_CL_TOKEN",
                                      "searches": [{"type": "o", "q": "foo"}], "windows_per_run": 1})
    assert "courtlistener: ok: 1 seen, 1 new" in kb("scrape", "courtlistener").output
    assert all(h["authorization"] == "Token secret-token" for p, h in site.requests if p.startswith("/api/"))
    assert len(site.seen("/api/rest/v4/search/?cursor=page2")) == 1
    [(text, kind)] = rows(db, "SELECT text, kind FROM documents")
    assert kind == "court" and "former employee deleted the files" in text
    assert rows(db, "SELECT court, case_number, case_name FROM cases") == [
        ("Hawaii Intermediate Court of Appeals", "24158", "Foo v. Foo")]


def test_uk_caselaw_feed_then_judgment_xml(site, kb, db, db_path):
    base = "https://caselaw.nationalarchives.gov.uk"
    feed = (EXAMPLES / "uk_caselaw" / "feed_example.atom").read_text(encoding="utf-8").replace(base, site.url(""))
    site.page("/atom.xml", feed.encode(), "application/atom+xml")
    site.page("/ewhc/ch/2024/1001/data.xml", (EXAMPLES / "uk_caselaw" / "judgment_example.xml").read_bytes(), "application/xml")
    site.page("/ewca/crim/2019/77/data.xml", b"<akomaNtoso/>", "application/xml")
    configure(db_path, uk_caselaw={"base_url": site.url(""), "queries": ["trade secrets"], "max_pages": 1})
    assert "uk_caselaw: ok: 2 seen, 2 new" in kb("scrape", "uk_caselaw", "--since", "2000-01-01").output
    assert ("[2024] EWHC 1001 (Ch)",) in rows(db, "SELECT case_number FROM cases")


# --- vcdb as a source, kb sources --------------------------------------------------------------


def test_vcdb_source_and_sources_listing(shared, kb, db_path):
    configure(db_path, vcdb={"path": str(shared / "vcdb" / "json")})
    assert "vcdb: limited: 20 seen, 20 new" in kb("scrape", "vcdb", "--limit", "20").output
    listing = {row["name"]: row for row in kb.json("sources")}
    assert listing["vcdb"]["last_status"] == "limited" and listing["vcdb"]["documents"] == 20
    assert listing["vcdb"]["enabled"] is False and listing["rss"]["enabled"] is True
    assert listing["doj"]["last_run"] is None and listing["doj"]["kind"] == "press_release"
    text = kb("sources").output
    assert "vcdb" in text and "never" in text


def test_unknown_source_and_bad_config_are_one_line_errors(kb, db_path):
    result = kb("scrape", "nosuch", ok=False)
    assert result.exit_code == 1 and "unknown source(s) nosuch" in result.output
    (db_path.parent / "sources.toml").write_text("[sources.rss]\nfeedz = []\n")
    assert "unknown setting(s) feedz for source rss" in kb("sources", ok=False).output


# --- kb add URL, kb extract ------------------------------------------------------------------


def test_add_url_fetches_stores_and_then_is_not_modified(site, news_page, kb, db, db_path):
    configure(db_path)
    site.page("/story", news_page, etag='"v1"')
    first = kb("add", site.url("/story"))
    assert first.output.startswith("new: d1 Android Ransomware Spreads")
    assert "unchanged:" in kb("add", site.url("/story")).output
    assert site.seen("/story")[1]["if-none-match"] == '"v1"'
    assert rows(db, "SELECT source, external_id FROM documents") == [("article", site.url("/story"))]


def test_add_url_without_network_is_one_clear_line(kb, db_path):
    configure(db_path)
    result = kb("add", "https://no-such-host.invalid/story", ok=False)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: cannot add https://no-such-host.invalid/story: cannot resolve no-such-host.invalid: "
        + result.output.split("cannot resolve no-such-host.invalid: ")[1].strip()]


def test_extract_files_gz_and_urls(site, shared, news_page, kb, db_path, tmp_path):
    configure(db_path)
    page = shared / "news" / "pages" / "threatpost.com.android.html"
    text = kb("extract", str(page)).output
    assert text.startswith(f"== {page}\ntitle: Android Ransomware") and "language: en" in text
    benchmark = sorted((shared / "news" / "article-extraction-benchmark" / "html").glob("*.html.gz"))[0]
    site.page("/story", news_page)
    lines = kb("extract", str(benchmark), site.url("/story"), "--json").output.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["file"] == str(benchmark) and first["text"]
    assert second["file"] == site.url("/story") and second["title"].startswith("Android Ransomware")
    assert set(first) == {"file", "title", "published", "language", "author", "text", "canonical_url", "site_name"}
    assert not (db_path.parent / "raw").exists()  # extract keeps nothing
    missing = kb("extract", str(tmp_path / "missing.html"), ok=False)
    assert missing.exit_code == 1 and "cannot read" in missing.output
