"""Court and prosecution sources that backfill: PACER dockets, CourtListener windows and docket
entries, the DOJ press-release walk (backfill, resume after a failure, then only new releases),
UK Find Case Law searches.

Real pages: the juriscraper PACER dockets with juriscraper's expected parse beside each, the
DOJ sample CSV served page by page in the API's JSON shape, and the utd docket's real entries
served in the shape of CourtListener's v4 docket-entries API.
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from kb.storage.db import open_db
from kb.sources.fetch import Response
from kb.sources.sdk import ItemError, Request
from kb.sources.courtlistener import CourtListenerScraper, query_of
from kb.sources.pacer import docket_record, event_of, parse_docket
from tests.conftest import cli
from tests.test_scrape_cli import configure, rows
from tests.test_scrapers import EXAMPLES, check_golden, doj_api_pages
from tests.webserver import serve

DOCKETS = ("utd", "cand_7", "dcd_3", "njd_509180")


@pytest.fixture(scope="module")
def dockets(shared):
    folder = shared / "court" / "juriscraper" / "pacer-dockets"
    return {name: (folder / f"{name}.html").read_bytes() for name in DOCKETS}, folder


# --- PACER docket reports: compared with juriscraper's expected parse -----------------------------


@pytest.mark.parametrize("name", DOCKETS)
def test_pacer_docket_matches_juriscraper(name, dockets):
    pages, folder = dockets
    expected = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    got = parse_docket(pages[name])
    assert got["docket_number"] == expected["docket_number"]
    assert (got["date_filed"], got["date_terminated"]) == (expected["date_filed"], expected["date_terminated"])
    assert got["assigned_to"] == expected["assigned_to_str"]
    assert (got["cause"] or "") == expected["cause"] and (got["nature_of_suit"] or "") == expected["nature_of_suit"]
    assert [(p["type"], p["name"]) for p in got["parties"]] == [(p["type"], p["name"]) for p in expected["parties"]]
    assert [(e["date_filed"], e["number"]) for e in got["entries"]] == [
        (e["date_filed"], e["document_number"]) for e in expected["docket_entries"]]
    squeeze = lambda text: "".join((text or "").split())  # noqa: E731 - juriscraper drops some spaces
    assert [squeeze(e["description"]) for e in got["entries"]] == [
        squeeze(e["description"]) for e in expected["docket_entries"]]
    counts = [(squeeze(c["name"]), c["disposition"]) for p in got["parties"] for c in p["counts"]]
    assert counts == [(squeeze(c["name"]), c["disposition"]) for p in expected["parties"]
                      for c in (p.get("criminal_data") or {}).get("counts", [])]


def test_criminal_docket_becomes_document_case_and_dated_steps(dockets):
    record = docket_record(parse_docket(dockets[0]["utd"]), "https://ecf.utd.uscourts.gov/cgi-bin/DktRpt.pl?65232",
                           source="pacer", external_id="utd:2:08-cr-00125")
    check_golden("pacer_utd_docket", [record])
    [case] = record.cases
    assert (case.case_number, case.case_type, case.filed, case.terminated) == (
        "2:08-cr-00125", "criminal", "2008-03-05", "2011-05-26")
    assert "18:1201(a)(1) KIDNAPPING" in case.claims and "Brian David Mitchell (Defendant)" in case.parties
    assert [(e["event"], e["date"], e["entry"]) for e in record.meta["events"]] == [
        ("indictment", "2008-03-05", "1"), ("arrest", "2008-10-20", "14"), ("arraignment", "2008-10-24", "17")]
    assert "found guilty by jury verdict" in record.meta["dispositions"][0]


def test_pacer_source_stores_saved_dockets_with_their_steps(shared, kb, db, db_path):
    folder = shared / "court" / "juriscraper" / "pacer-dockets"
    configure(db_path, pacer={"path": str(folder)})
    assert "pacer: ok: 4 seen, 4 new" in kb("scrape", "pacer").output
    assert sorted(rows(db, "SELECT case_number, case_type FROM cases")) == [
        ("1:20-cv-03010", "civil"), ("2:08-cr-00125", "criminal"), ("2:23-cv-01194", "civil"), ("3:23-cv-04557", "civil")]
    assert "pacer: ok: 4 seen, 0 new, 0 updated, 4 unchanged" in kb("scrape", "pacer").output


def test_a_page_that_is_no_docket_gives_an_empty_docket():
    docket = parse_docket(b"<html><h3>Hello</h3><table><tr><td>Docket Text</td></tr><tr><td>x</td></tr></table>")
    assert docket["docket_number"] is None and docket["entries"] == [] and docket["parties"] == []
    record = docket_record(docket, None, source="pacer", external_id="x")
    assert record.cases[0].case_type is None and "events" not in record.meta


@pytest.mark.parametrize("text, step", [
    ("INDICTMENT as to John Doe (1) count(s) 1-3.", "indictment"),
    ("SUPERSEDING INDICTMENT as to John Doe (1) count(s) 1s-4s.", "indictment"),
    ("PLEA AGREEMENT as to John Doe", "plea"),
    ("Minute Entry for proceedings held before Judge Ann Lee: Change of Plea Hearing as to John Doe held", "plea"),
    ("Minute Entry for proceedings held before Judge Ann Lee: Sentencing held on 5/1/2020 for John Doe (1)",
     "sentencing"),
    ("JUDGMENT as to John Doe (1), Count(s) 1, 24 months imprisonment, 3 years supervised release", "judgment"),
    ("JURY VERDICT as to John Doe (1) Guilty on Count 1", "verdict"),
    ("NOTICE OF HEARING as to John Doe: Sentencing set for 5/1/2020", None),
    ("MOTION to Continue Sentencing by John Doe", None),
    ("ORDER granting 12 Motion to Continue as to John Doe", None),
])
def test_docket_entry_steps(text, step):
    assert event_of(text) == step


# --- CourtListener: token, fielded queries, windows and cursor, docket entries ----------------------


def test_fielded_query():
    assert query_of({"q": '"former employee"', "cause": ["18:1030", "18:1832"], "party": ['Acme "Inc"']}) == (
        '("former employee") AND cause:("18:1030" OR "18:1832") AND party:("Acme Inc")')


def test_date_windows_walk_back_to_the_floor_then_only_new():
    settings = {"backfill_from": 2022, "window_months": 12, "windows_per_run": 2}
    first = CourtListenerScraper(settings, today=date(2024, 3, 31)).windows()
    assert [(str(a), str(b), c) for a, b, c in first] == [
        ("2023-04-01", "2024-03-31", {"backfilled_to": "2023-04-01", "covered_to": "2024-03-31"}),
        ("2022-04-01", "2023-03-31", {"backfilled_to": "2022-04-01"})]
    state = {"backfilled_to": "2022-04-01", "covered_to": "2024-03-31"}
    second = CourtListenerScraper(settings, state=state, today=date(2024, 4, 2)).windows()
    assert [(str(a), str(b), c) for a, b, c in second] == [
        ("2024-03-24", "2024-04-02", {"covered_to": "2024-04-02"}),
        ("2022-01-01", "2022-03-31", {"backfilled_to": "2022-01-01"})]
    done = {"backfilled_to": "2022-01-01", "covered_to": "2024-04-02"}
    assert len(CourtListenerScraper(settings, state=done, today=date(2024, 4, 3)).windows()) == 1


def test_hostile_hits_are_item_errors_not_a_broken_page():
    body = json.dumps({"results": [{"docket_id": "12; DROP", "caseName": "x"}, {"docket_id": 7, "caseName": ["x"]},
                                   {"docket_id": 8, "caseName": "Doe", "recap_documents": "nope"}]}).encode()
    url = "https://cl.example/api/rest/v4/search/?type=r"
    response = Response(url=url, requested_url=url, status=200, headers={"content-type": "application/json"},
                        content=body, fetched_at="2025-01-01T00:00:00+00:00", sha256="0" * 64, raw_path=None)
    out = list(CourtListenerScraper().parse(response, Request(url, "parse_search", data={"type": "r", "query": "q",
                                                                                        "page": 1})))
    assert [type(o).__name__ for o in out] == ["ItemError", "ItemError", "Request"]
    assert isinstance(out[0], ItemError) and "malformed docket_id 12; DROP" in out[0].reason


def test_no_token_is_one_clear_error_and_a_note(kb, db_path, monkeypatch):
    monkeypatch.delenv("KB_TEST_CL_TOKEN", raising=False)
    configure(db_path, courtlistener={"token_env": "KB_TEST_CL_TOKEN"})
    result = kb("scrape", "courtlistener", ok=False)
    assert result.exit_code == 1 and "courtlistener: failed" in result.output
    assert "no API token: set the environment variable KB_TEST_CL_TOKEN" in result.output
    [row] = [r for r in kb.json("sources") if r["name"] == "courtlistener"]
    assert any("KB_TEST_CL_TOKEN" in note for note in row["notes"])
    assert "note: no API token" in kb("sources").output


def cl_entries(shared) -> list[dict]:
    """The utd docket's real entries in the shape of /api/rest/v4/docket-entries/."""
    expected = json.loads((shared / "court" / "juriscraper" / "pacer-dockets" / "utd.json").read_text())
    return [{"id": 900 + i, "docket": 4242, "entry_number": int(e["document_number"]) if e["document_number"] else None,
             "date_filed": e["date_filed"], "description": e["description"],
             "recap_documents": [{"description": "", "document_number": e["document_number"]}]}
            for i, e in enumerate(expected["docket_entries"])]


def serve_courtlistener(site, shared):
    hit = {"docket_id": 4242, "caseName": "United States v. Mitchell", "docketNumber": "2:08-cr-00125",
           "court": "District Court, D. Utah", "court_id": "utd", "dateFiled": "2008-03-05",
           "dateTerminated": "2011-05-26", "cause": "", "party": ["USA", "Brian David Mitchell"],
           "absolute_url": "/docket/4242/united-states-v-mitchell/", "recap_documents": []}
    site.page("/api/rest/v4/search/", json.dumps({"count": 1, "next": None, "results": [hit]}).encode(),
              "application/json")
    entries = cl_entries(shared)
    pages = [entries[:60], entries[60:]]

    def handler(req):
        query = parse_qs(urlsplit(req.path).query)
        number = int(query.get("page", ["1"])[0])
        nxt = site.url(f"/api/rest/v4/docket-entries/?docket=4242&page={number + 1}") if number < len(pages) else None
        body = {"count": len(entries), "next": nxt, "previous": None, "results": pages[number - 1]}
        serve(json.dumps(body).encode(), "application/json")(req)
    site.route("/api/rest/v4/docket-entries/", handler)


def searches(site) -> list[dict]:
    """The query strings of every search request the server saw, in order."""
    return [{k: v[0] for k, v in parse_qs(urlsplit(p).query).items()}
            for p, _ in site.requests if p.startswith("/api/rest/v4/search/")]


def test_courtlistener_backfills_window_by_window_then_only_new(site, shared, kb, db, db_path, monkeypatch):
    serve_courtlistener(site, shared)
    monkeypatch.setenv("KB_TEST_CL_TOKEN", "t0ken")
    this_year = date.today().year
    configure(db_path, courtlistener={
        "base_url": site.url(""), "token_env": "KB_TEST_CL_TOKEN", "backfill_from": this_year - 2,
        "window_months": 12, "windows_per_run": 2, "opinion_text": False,
        "searches": [{"type": "r", "q": "employee", "cause": ["18:1030"], "court": ["utd", "cand"]}]})
    # the server answers every window with the same docket: stored once, then unchanged
    assert "courtlistener: ok: 2 seen, 1 new, 0 updated, 1 unchanged" in kb("scrape", "courtlistener").output
    first = searches(site)
    assert [s["order_by"] for s in first] == ["score desc", "score desc"]
    assert first[0]["q"] == '(employee) AND cause:("18:1030")' and first[0]["court"] == "utd cand"
    assert first[0]["filed_before"] == date.today().isoformat() and first[1]["filed_before"] < first[0]["filed_after"]
    assert all(h["authorization"] == "Token t0ken" for p, h in site.requests if p.startswith("/api/"))
    [(meta, text)] = rows(db, "SELECT meta, text FROM documents")
    steps = [(e["event"], e["date"]) for e in json.loads(meta)["events"]]
    assert ("indictment", "2008-03-05") in steps and ("arraignment", "2008-10-24") in steps
    assert json.loads(meta)["entries"] == 121 and "2008-03-05 [1] INDICTMENT as to Bryan David Mitchell" in text
    state = {r["name"]: r for r in kb.json("sources")}["courtlistener"]["state"]
    assert state == {"covered_to": date.today().isoformat(), "backfilled_to": first[1]["filed_after"]}

    site.requests.clear()
    kb("scrape", "courtlistener")
    second = searches(site)
    assert second[0]["filed_before"] == date.today().isoformat()  # what is new first...
    assert second[0]["filed_after"] < date.today().isoformat() <= second[0]["filed_before"]
    assert second[1]["filed_after"] == f"{this_year - 2}-01-01"  # ...then the last window down to the floor
    assert second[1]["filed_before"] < first[1]["filed_after"]
    site.requests.clear()
    kb("scrape", "courtlistener")
    assert len(searches(site)) == 1  # backfill done: only what is new


# --- DOJ: backfill by pages, resume after a failure, then only what is new -------------------------


def serve_releases(site, pages: list[bytes], broken: set[int]):
    def handler(req):
        page = int(parse_qs(urlsplit(req.path).query).get("page", ["0"])[0])
        if page in broken:
            req.send_response(500)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        serve(pages[page] if page < len(pages) else b'{"results": []}', "application/json")(req)
    site.route("/api/v1/press_releases.json", handler)


def asked(site) -> list[int]:
    """The page numbers of every press-release request the server saw, in order."""
    return [int(parse_qs(urlsplit(p).query)["page"][0]) for p, _ in site.requests
            if p.startswith("/api/v1/press_releases.json")]


def doj_run(kb, db_path, url, **settings):
    configure(db_path, doj={"api_url": url, "pagesize": 10, "backfill_from": 2000, **settings})
    return kb("scrape", "doj", ok=False).output


def counts(output: str) -> tuple[int, int]:
    """(seen, new) from a 'doj: STATUS: N seen, M new, ...' line."""
    line = next(l for l in output.splitlines() if l.startswith("doj:"))
    parts = line.split(": ", 2)[2].split(", ")
    return int(parts[0].split()[0]), int(parts[1].split()[0])


def test_doj_backfill_resumes_after_a_failure_with_the_counts_of_an_uninterrupted_run(site, shared, tmp_path):
    pages = doj_api_pages(shared, pagesize=10)
    broken = set()
    serve_releases(site, pages, broken)
    url = site.url("/api/v1/press_releases.json")

    whole = cli(tmp_path / "whole" / "kb.db")
    (tmp_path / "whole").mkdir()
    uninterrupted = doj_run(whole, tmp_path / "whole" / "kb.db", url)
    assert "doj: ok:" in uninterrupted
    assert asked(site) == list(range(len(pages) + 1))  # every page, and the empty one past the end
    whole_ids = rows(open_db(tmp_path / "whole" / "kb.db"), "SELECT external_id FROM documents ORDER BY 1")

    (tmp_path / "split").mkdir()
    db_path = tmp_path / "split" / "kb.db"
    kb = cli(db_path)
    broken.add(3)
    site.requests.clear()
    failed = doj_run(kb, db_path, url)
    assert "doj: partial:" in failed and "HTTP 500" in failed
    assert {r["name"]: r for r in kb.json("sources")}["doj"]["state"]["backfill_page"] == 3
    broken.clear()
    site.requests.clear()
    resumed = doj_run(kb, db_path, url)
    assert "doj: ok:" in resumed
    assert asked(site)[:2] == [0, 3]  # page 0 only to look for new releases, then on from page 3
    assert tuple(map(sum, zip(counts(failed), counts(resumed)))) == counts(uninterrupted)
    assert rows(open_db(db_path), "SELECT external_id FROM documents ORDER BY 1") == whole_ids


def test_doj_backfill_stops_at_its_year(site, shared, kb, db_path):
    serve_releases(site, doj_api_pages(shared, pagesize=10), set())
    assert "doj: ok:" in doj_run(kb, db_path, site.url("/api/v1/press_releases.json"), backfill_from=2010)
    assert asked(site) == [0, 1]  # the sample's 2013-2014 releases end on page 1, then 2009 ones begin
    assert {r["name"]: r for r in kb.json("sources")}["doj"]["state"]["backfill_done"] is True


def test_doj_after_the_backfill_fetches_only_new_releases(site, shared, kb, db, db_path):
    everything = doj_api_pages(shared, pagesize=1000)[0]
    releases = json.loads(everything)["results"]
    older = [json.dumps({"results": releases[15:][i:i + 10]}).encode() for i in range(0, 85, 10)]
    served: list[bytes] = list(older)
    serve_releases(site, served, set())
    url = site.url("/api/v1/press_releases.json")
    first = doj_run(kb, db_path, url)
    assert "doj: ok:" in first
    served[:] = [json.dumps({"results": releases[i:i + 10]}).encode() for i in range(0, 100, 10)]
    site.requests.clear()
    second = doj_run(kb, db_path, url)
    assert asked(site) == [0, 1]  # 15 new releases: two pages, then the newest one already seen
    stored = {r[0] for r in rows(db, "SELECT external_id FROM documents")}
    new_ones = {f"sample-{r['uuid'].split('-')[1]}" for r in releases[:15]}
    assert counts(second)[1] == len(stored & new_ones) > 0


# --- UK Find Case Law: relevance first, newest afterwards; Crown Court note ------------------------


def test_uk_searches_by_relevance_first_then_newest(site, kb, db_path):
    base = "https://caselaw.nationalarchives.gov.uk"
    feed = (EXAMPLES / "uk_caselaw" / "feed_example.atom").read_text(encoding="utf-8").replace(base, site.url(""))
    site.page("/atom.xml", feed.encode(), "application/atom+xml")
    site.page("/ewhc/ch/2024/1001/data.xml", (EXAMPLES / "uk_caselaw" / "judgment_example.xml").read_bytes(), "application/xml")
    site.page("/ewca/crim/2019/77/data.xml", b"<akomaNtoso/>", "application/xml")
    configure(db_path, uk_caselaw={"base_url": site.url(""), "queries": ['"Computer Misuse Act" employee'],
                                   "max_pages": 1})
    assert "uk_caselaw: ok: 2 seen, 2 new" in kb("scrape", "uk_caselaw").output  # the 2019 one too
    [first] = [parse_qs(urlsplit(p).query) for p, _ in site.requests if p.startswith("/atom.xml")]
    assert first["query"] == ['"Computer Misuse Act" employee'] and "order" not in first
    site.requests.clear()
    kb("scrape", "uk_caselaw", "--since", "2020-01-01")
    [second] = [parse_qs(urlsplit(p).query) for p, _ in site.requests if p.startswith("/atom.xml")]
    assert second["order"] == ["-date"]
    assert not site.seen("/ewca/crim/2019/77/data.xml")  # newest first: stops at --since
    [row] = [r for r in kb.json("sources") if r["name"] == "uk_caselaw"]
    assert any("Crown Court trials are not published" in n for n in row["notes"])
