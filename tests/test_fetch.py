"""kb.fetch against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from kb.sources.fetch import FetchError, Fetcher, FetchSettings, HTML_TYPES
from tests.webserver import drop, failing, huge, redirect, serve, stall, truncated

PAGE = b"<html><head><title>Story</title></head><body><p>An intern deleted the models.</p></body></html>"


def fast(**overrides) -> FetchSettings:
    """Settings that keep tests quick: no politeness delay, short timeouts, a 1 MB cap."""
    values = dict(min_delay=0, retries=2, backoff=0.05, max_retry_wait=2, connect_timeout=1,
                  read_timeout=0.5, total_timeout=5, max_bytes=1_000_000, allow=["127.0.0.1"])
    return FetchSettings(**{**values, **overrides})


@pytest.fixture
def fetcher(tmp_path):
    with Fetcher(fast(), raw_dir=tmp_path / "raw") as f:
        yield f


def reason_of(fetcher, url, **kwargs) -> str:
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    return info.value.reason


def test_page_is_fetched_with_honest_user_agent_and_raw_bytes_kept(site, fetcher, tmp_path):
    site.page("/a", PAGE, etag='"v1"')
    r = fetcher.get(site.url("/a"), accept=HTML_TYPES)
    assert r.status == 200 and r.content == PAGE and r.etag == '"v1"'
    assert site.seen("/a")[0]["user-agent"].startswith("InsiderIncidentKB/0.1 (+")
    raw = tmp_path / r.raw_path
    assert raw.name == f"{r.sha256}.gz" and gzip.decompress(raw.read_bytes()) == PAGE
    assert r.provenance()["raw_sha256"] == r.sha256


def test_conditional_get_answers_304_without_body(site, fetcher):
    site.page("/a", PAGE, etag='"v1"')
    r = fetcher.get(site.url("/a"), validators=('"v1"', "Wed, 01 Jan 2025 00:00:00 GMT"))
    assert r.not_modified and r.content == b"" and r.raw_path is None
    headers = site.seen("/a")[0]
    assert headers["if-none-match"] == '"v1"' and headers["if-modified-since"].startswith("Wed")


def test_429_waits_as_long_as_retry_after_says(site, fetcher):
    site.route("/busy", failing(1, 429, then=serve(PAGE), retry_after="1"))
    started = time.monotonic()
    assert fetcher.get(site.url("/busy")).content == PAGE
    assert time.monotonic() - started >= 1.0
    assert len(site.seen("/busy")) == 2


def test_retry_after_beyond_the_cap_fails_at_once(site, fetcher):
    site.route("/busy", failing(1, 429, then=serve(PAGE), retry_after="3600"))
    started = time.monotonic()
    assert "over the 2s cap" in reason_of(fetcher, site.url("/busy"))
    assert time.monotonic() - started < 1


def test_server_errors_are_retried_then_reported(site, fetcher):
    site.route("/flaky", failing(2, 503, then=serve(PAGE)))
    assert fetcher.get(site.url("/flaky")).content == PAGE
    site.route("/down", failing(0, 500))
    assert reason_of(fetcher, site.url("/down")) == "HTTP 500 (gave up after 3 tries)"
    assert len(site.seen("/down")) == 3


def test_client_errors_are_not_retried(site, fetcher):
    assert reason_of(fetcher, site.url("/missing")) == "HTTP 404"
    assert len(site.seen("/missing")) == 1


def test_stalled_response_times_out(site, fetcher):
    site.route("/stall", stall(1.5))
    assert "timed out" in reason_of(fetcher, site.url("/stall"))


def test_dropped_connection(site, fetcher):
    site.route("/drop", drop)
    assert "connection failed" in reason_of(fetcher, site.url("/drop"))


def test_truncated_body(site, fetcher):
    site.route("/cut", truncated(PAGE))
    reason = reason_of(fetcher, site.url("/cut"))
    assert "connection failed" in reason and "gave up after 3 tries" in reason


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_50_mb_body_is_cut_off_at_the_cap(site, fetcher, declared):
    site.route("/big", huge(50 * 1024 * 1024, declare_length=declared))
    started = time.monotonic()
    assert "1000000-byte cap" in reason_of(fetcher, site.url("/big"))
    assert time.monotonic() - started < 5


def test_redirects_are_followed_and_capped(site, fetcher):
    site.page("/final", PAGE)
    site.route("/old", redirect("/final", 301))
    r = fetcher.get(site.url("/old"))
    assert r.url == site.url("/final") and r.requested_url == site.url("/old")
    site.route("/loop-a", redirect("/loop-b"))
    site.route("/loop-b", redirect("/loop-a"))
    assert "redirect loop" in reason_of(fetcher, site.url("/loop-a"))
    for n in range(7):
        site.route(f"/hop{n}", redirect(f"/hop{n + 1}"))
    assert "more than 5 redirects" in reason_of(fetcher, site.url("/hop0"))


@pytest.mark.parametrize("target", ["http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]/", "http://192.168.1.1/", "http://0.0.0.0/"])
def test_redirect_to_a_private_address_is_refused_before_connecting(site, fetcher, target):
    site.route("/evil", redirect(target))
    started = time.monotonic()
    assert "non-public address" in reason_of(fetcher, site.url("/evil"))
    assert time.monotonic() - started < 1  # no connection attempt (10.0.0.1 would hang until timeout)


def test_loopback_needs_an_explicit_allow_list(site):
    site.page("/a", PAGE)
    with Fetcher(fast(allow=[])) as strict:
        assert "non-public address (127.0.0.1)" in reason_of(strict, site.url("/a"))
    assert site.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"])
def test_only_http_and_https(fetcher, url):
    assert "not allowed (http/https only)" in reason_of(fetcher, url)


def test_robots_txt_disallow_is_honoured(site, fetcher):
    site.page("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    site.page("/private/x", PAGE)
    site.page("/public", PAGE)
    assert "disallowed by robots.txt" in reason_of(fetcher, site.url("/private/x"))
    assert fetcher.get(site.url("/public")).content == PAGE
    assert site.seen("/private/x") == [] and len(site.seen("/robots.txt")) == 1  # cached per host


def test_unreachable_robots_txt_means_no_crawling(site, fetcher):
    site.route("/robots.txt", failing(0, 500))
    site.page("/a", PAGE)
    assert "robots.txt unavailable" in reason_of(fetcher, site.url("/a"))
    assert site.seen("/a") == []


def test_robots_crawl_delay_and_per_host_delay(site, tmp_path):
    site.page("/robots.txt", b"User-agent: *\nCrawl-delay: 0.4\n", "text/plain")
    site.page("/a", PAGE)
    with Fetcher(fast(min_delay=0.1)) as polite:
        started = time.monotonic()
        polite.get(site.url("/a"))
        polite.get(site.url("/a"))
        assert time.monotonic() - started >= 0.8  # robots.txt, then two pages 0.4 s apart


def test_unexpected_content_type_is_refused(site, fetcher):
    site.page("/blob", b"\x00\x01", "application/octet-stream")
    assert reason_of(fetcher, site.url("/blob"), accept=HTML_TYPES) == "unexpected content type 'application/octet-stream'"


def test_gbk_page_declared_utf8_is_decoded_from_its_bytes(site, fetcher, shared):
    pages = shared / "news" / "pages"
    expectations = json.loads((pages / "trafilatura-expectations.json").read_text(encoding="utf-8"))
    entry = next(v for v in expectations.values() if v["file"] == "archive.org.he.xinhuanet.com.25340717.html")
    site.page("/gbk", (pages / entry["file"]).read_bytes(), "text/html; charset=utf-8")
    text = fetcher.get(site.url("/gbk")).text()
    assert entry["title"].strip() in text
    assert all(fragment in text for fragment in entry["with"])
    assert "\ufffd" not in text
