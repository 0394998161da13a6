"""Scrapers on real pages from ../shared/data (skipped where absent), which cannot be copied into
the project as examples, and what the sources' own examples (tests/test_source_examples.py) do not
show: the walks over several pages, filters, errors.

The expected outputs of the real pages are in tests/fixtures/golden/*.json (checked by eye).
After a deliberate change, rewrite them with KB_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path

import pytest

from kb.sources import config as sources_config
from tests.test_source_examples import as_compared, response
from kb.records import DocumentRecord
from kb.sources.runner import registry
from kb.sources.article import ArticleScraper
from kb.sources.sdk import ItemError, Request
from kb.text.html import html_to_text
from kb.sources.courtlistener import CourtListenerScraper
from kb.sources.doj import DojScraper
from kb.extract.insider_filter import is_relevant, matched_terms
from kb.sources.rss import RssScraper
from kb.sources.uk_caselaw import UkCaselawScraper
from kb.sources.vcdb import VcdbScraper
from kb.sources.wechat import WechatScraper, wechat_id

FIXTURES = Path(__file__).parent / "fixtures"
INPUTS = FIXTURES / "scrapers"  # inputs of chained tests (a CourtListener opinion)
GOLDEN = FIXTURES / "golden"
EXAMPLES = Path(__file__).parent.parent / "kb" / "sources" / "examples"


def check_golden(name: str, outputs) -> None:
    got = as_compared(outputs)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("KB_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with KB_UPDATE_GOLDEN=1 and review it"
    assert got == json.loads(path.read_text(encoding="utf-8"))


def parse(scraper, content: bytes, url: str, callback: str, content_type: str = "text/html", **data):
    return list(scraper.parse(response(content, url, content_type), Request(url, callback=callback, data=data)))


# --- article: real news pages --------------------------------------------------------


def test_article_scraper_on_real_news_pages(shared):
    pages = shared / "news" / "pages"
    expectations = json.loads((pages / "trafilatura-expectations.json").read_text(encoding="utf-8"))
    scraper = ArticleScraper()
    outputs = []
    for url, expected in sorted(expectations.items(), key=lambda kv: kv[1]["file"]):
        url = url if url.startswith("http") else f"https://saved.example/{expected['file']}"
        [record] = parse(scraper, (pages / expected["file"]).read_bytes(), url, "parse")
        assert record.source == "article" and record.kind == "news" and record.external_id == url
        assert record.raw_sha256 == "0" * 64 and record.fetched_at  # provenance from the response
        outputs.append(record)
    check_golden("article_news_pages", outputs)


def test_article_without_text_is_an_item_error():
    [out] = parse(ArticleScraper(), b"<html><body><script>x()</script></body></html>", "https://a.example/", "parse")
    assert isinstance(out, ItemError) and out.reason.startswith("no article text found on the page")


# --- wechat: fixture (no real WeChat page saved) ------------------------------------


def test_wechat_articles_are_keyed_by_their_own_identity():
    url = ("https://mp.weixin.qq.com/s?__biz=MzI4NDY2MDMwMw==&mid=2247513175&idx=2"
           "&sn=9fbce0e6c6be781a5c3d36700788e311&chksm=ebfa&scene=58#rd")
    outputs = parse(WechatScraper(), (EXAMPLES / "wechat" / "article_example.html").read_bytes(), url, "parse")
    assert outputs[0].external_id == "wechat:MzI4NDY2MDMwMw==:2247513175:2"
    assert wechat_id("https://mp.weixin.qq.com/s/AbCdEf#rd") == "https://mp.weixin.qq.com/s/AbCdEf"


# --- rss: fixture feed, real article page -------------------------------------------------


def test_rss_feed_keeps_recent_insider_items_only():
    scraper = RssScraper(since=date(2024, 1, 1))
    outputs = parse(scraper, (EXAMPLES / "rss" / "feed_example.rss").read_bytes(), "https://news.example/feed",
                    "parse_feed", "application/rss+xml")
    assert [o.url for o in outputs] == ["https://news.example/former-employee-wiped-servers",
                                        "https://news.example/zh/intern-tampered-code"]


def test_rss_article_goes_through_the_article_scraper(shared):
    page = (shared / "news" / "pages" / "threatpost.com.android.html").read_bytes()
    url = "https://news.example/former-employee-wiped-servers"
    [record] = parse(RssScraper(), page, url, "parse_article", feed="https://news.example/feed",
                     published="2024-11-19", matched=["former employee", "wiped"])
    assert record.source == "rss" and record.external_id == url
    assert record.meta["feed"] == "https://news.example/feed" and record.meta["matched"] == ["former employee", "wiped"]
    assert record.published == "2019-07-30"  # the page's own date wins over the feed's


def test_not_a_feed_is_a_parse_error():
    with pytest.raises(ValueError, match="not a feed"):
        parse(RssScraper(), b"\x89PNG garbage", "https://news.example/feed", "parse_feed")


# --- relevance filter ------------------------------------------------------------------


@pytest.mark.parametrize("text, relevant", [
    ("Former employee wiped 1,200 virtual machines", True),
    ("Engineer stole trade secrets before joining rival", True),
    ("Contractor leaked source code of the game", True),
    ("Insider threat: rogue admin sabotaged backups", True),
    ("前实习生篡改代码攻击大模型训练", True),
    ("程序员删库跑路，公司损失惨重", True),
    ("离职员工泄露客户数据被判刑", True),
    ("公司内鬼窃取商业秘密", True),
    ("Patch Tuesday fixes 90 flaws", False),
    ("Executive charged with insider trading", False),
    ("高管涉嫌内幕交易被调查", False),
    ("Employee of the month announced", False),
    ("新款手机发布", False),
])
def test_relevance_filter_in_both_languages(text, relevant):
    assert is_relevant(text) is relevant


def test_relevance_of_the_seed_article(shared):
    seed = next((shared / "news" / "seed").glob("*.md")).read_text(encoding="utf-8")
    terms = matched_terms(seed)
    assert {"实习生", "篡改代码"} <= set(terms)


# --- doj: the real press-release sample, in the API's JSON shape ---------------------------


def doj_api_pages(shared, pagesize: int = 50) -> list[bytes]:
    """The DOJ sample CSV rendered as /api/v1/press_releases.json pages (id → uuid)."""
    csv.field_size_limit(10**8)
    with open(shared / "doj" / "press_releases_sample.csv", encoding="utf-8", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["date"]), reverse=True)
    results = [{"uuid": f"sample-{r['id']}", "title": r["title"], "body": r["body"], "date": r["date"],
                "url": r["url"]} for r in rows]
    pages = []
    for page, start in enumerate(range(0, len(results), pagesize)):
        meta = {"resultset": {"count": len(results), "pagesize": pagesize, "page": page}}
        pages.append(json.dumps({"metadata": meta, "results": results[start:start + pagesize]}).encode())
    return pages


def walk(scraper, pages: list[bytes]) -> list:
    """Every output of a scraper's walk, each request it makes answered with pages[its page number]."""
    outputs, queue = [], list(scraper.start())
    while queue:
        out = queue.pop(0)
        if isinstance(out, Request):
            page = pages[out.data["page"]] if out.data["page"] < len(pages) else b'{"results": []}'
            queue[:0] = parse(scraper, page, out.url, out.callback, "application/json", **out.data)
        outputs.append(out)
    return outputs


def test_doj_scraper_on_real_press_releases(shared):
    outputs = walk(DojScraper({"backfill_from": 2000}), doj_api_pages(shared))
    check_golden("doj_sample", outputs)
    titles = [o.title for o in outputs if isinstance(o, DocumentRecord)]
    assert "Second Former State Department Employee Pleads Guilty to Illegally Accessing Confidential Passport Files" in titles
    assert not any("INTERPOL" in t for t in titles)


def test_doj_stops_at_backfill_year_and_reads_component_and_topics():
    item = {"uuid": "u1", "title": "Former engineer sentenced for sabotage", "body": "<p>He deleted code.</p>",
            "date": "1700000000", "url": "https://www.justice.gov/usao-ndca/pr/x",
            "component": [{"name": "USAO - Northern District of California"}], "topic": {"name": "Cybercrime"}}
    page = json.dumps({"results": [item]}).encode()
    [record, cursor, next_page] = walk(DojScraper(), [page])[1:4]
    assert record.meta["district"] == ["Northern District of California"] and record.meta["topics"] == ["Cybercrime"]
    assert record.published == "2023-11-14" and next_page.data["page"] == 1
    assert cursor.state == {"head": {"id": "u1", "date": "2023-11-14"}, "backfill_page": 1}
    [_, done] = walk(DojScraper({"backfill_from": 2024}), [page])
    assert done.state == {"head": {"id": "u1", "date": "2023-11-14"}, "backfill_page": None, "backfill_done": True}


# --- courtlistener: the real v4 response shape, fixtures for the rest ------------------------


def test_courtlistener_opinion_search_on_real_v4_example(shared):
    data = (shared / "court" / "courtlistener" / "search_v4_type_o_example.json").read_bytes()
    url = "https://www.courtlistener.com/api/rest/v4/search/?type=o&q=foo"
    snippet_only = parse(CourtListenerScraper({"opinion_text": False}), data, url, "parse_search",
                         "application/json", type="o", query="foo", page=1)
    check_golden("courtlistener_type_o", snippet_only)
    [record, next_page] = snippet_only
    assert record.cases[0].case_number == "24158" and next_page.url.startswith(
        "https://www.courtlistener.com/api/rest/v4/search/?cursor=")
    [wants_text] = parse(CourtListenerScraper(), data, url, "parse_search", "application/json",
                            type="o", query="foo", page=2)
    assert wants_text.url == "https://www.courtlistener.com/api/rest/v4/opinions/6489975/" and wants_text.item
    opinion = (INPUTS / "courtlistener_opinion.json").read_bytes()
    [full] = parse(CourtListenerScraper(), opinion, wants_text.url, "parse_opinion", "application/json",
                   **wants_text.data)
    assert full.text == "The judgment is affirmed in part.\nThe former employee deleted the files."
    assert full.external_id == record.external_id and full.meta["opinion_id"] == 6489975


def test_courtlistener_docket_search_reads_steps_and_reports_a_broken_item():
    data = (EXAMPLES / "courtlistener" / "docket_search_example.json").read_bytes()
    outputs = parse(CourtListenerScraper({"docket_entries": False}), data,
                    "https://cl.example/api/rest/v4/search/?type=r", "parse_search",
                    "application/json", type="r", query="1030", page=1)
    assert outputs[0].cases[0].case_type == "criminal"
    assert [(e["event"], e["date"]) for e in outputs[0].meta["events"]] == [("indictment", "2023-03-14")]
    assert isinstance(outputs[1], ItemError)


# --- uk_caselaw: fixtures (no saved feed or judgment) ------------------------------------


def test_uk_caselaw_feed_leads_to_its_judgment_and_no_entity_is_resolved():
    scraper = UkCaselawScraper(since=date(2020, 1, 1))
    feed = parse(scraper, (EXAMPLES / "uk_caselaw" / "feed_example.atom").read_bytes(),
                 "https://caselaw.nationalarchives.gov.uk/atom.xml", "parse_feed", "application/atom+xml", page=1)
    [judgment_request] = feed  # the 2019 judgment is before `since`, so no next page either
    judgment = parse(scraper, (EXAMPLES / "uk_caselaw" / "judgment_example.xml").read_bytes(), judgment_request.url,
                     "parse_judgment", "application/akn+xml", **judgment_request.data)
    assert "root:" not in judgment[0].text  # the external entity was not resolved


# --- vcdb: the real dataset ---------------------------------------------------------------


def test_vcdb_scraper_reads_the_real_folder(shared):
    folder = shared / "vcdb" / "json"
    outputs = list(VcdbScraper({"path": str(folder)}).start())
    records = [o for o in outputs if isinstance(o, DocumentRecord)]
    assert len(outputs) == len(list(folder.rglob("*.json")))
    assert records and all(r.source == "vcdb" and r.kind == "dataset" and r.incident for r in records)


def test_vcdb_missing_folder_is_an_item_error(tmp_path):
    [out] = VcdbScraper({"path": str(tmp_path / "nope")}).start()
    assert isinstance(out, ItemError) and "VCDB folder not found" in out.reason


# --- registry and configuration --------------------------------------------------------------


def test_every_scraper_of_the_package_is_registered_by_entry_point():
    import importlib
    import inspect
    import pkgutil

    import kb.sources
    from kb.sources.sdk import Scraper

    defined = {cls.name for info in pkgutil.iter_modules(kb.sources.__path__)
               for _, cls in inspect.getmembers(importlib.import_module(f"kb.sources.{info.name}"), inspect.isclass)
               if issubclass(cls, Scraper) and cls is not Scraper and cls.__module__ == f"kb.sources.{info.name}"}
    assert defined and defined <= set(registry())
    assert {name: cls.name for name, cls in registry().items()} == {name: name for name in registry()}


def test_shipped_sources_toml_equals_the_built_in_defaults():
    shipped = sources_config.load(Path(__file__).parent.parent / "db" / "kb.db")
    assert shipped.path.is_file()
    defaults = sources_config.load(Path("/nonexistent/kb.db"))
    assert shipped.fetch_settings() == defaults.fetch_settings()
    for cls in registry().values():
        assert shipped.settings_for(cls) == defaults.settings_for(cls), cls.name


def test_html_to_text_keeps_blocks_apart():
    assert html_to_text("<p>A <b>b</b>\nc</p><ul><li>d</li></ul>e<br>f<script>x</script>") == "A b c\nd\ne\nf"


def test_kb_add_url_goes_to_the_scraper_that_claims_it_most_specifically():
    from kb.errors import KBError
    from kb.sources.runner import scraper_for

    assert scraper_for("https://mp.weixin.qq.com/s?__biz=MzI4&mid=22&idx=1").name == "wechat"
    assert scraper_for("https://www.example.com/news/1.html").name == "article"
    with pytest.raises(KBError, match="no scraper handles"):
        scraper_for("ftp://example.com/file")
