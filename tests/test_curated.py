"""The curated set (kb/data/starter.json) is held to a standard a journalist would sign (issue #23, item 5).

Every entry cites a primary source or says why none can be cited, an unproven act reads as an
allegation, every amount says what kind of figure it is and where it is stated, and every entry
says when it was last checked against its sources.
"""

from __future__ import annotations

import re

import pytest

from kb.sources.starter import load

PRIMARY_KINDS = {"judgment", "docket", "indictment", "prosecutor", "regulator", "company", "filing"}
SOURCE_KINDS = PRIMARY_KINDS | {"news"}
AMOUNT_KINDS = {"claimed", "awarded", "restitution", "fine", "settlement", "loss_reported", "loss_alleged"}
STATUSES = {"alleged", "sued", "charged", "pleaded guilty", "convicted", "acquitted", "settled", "dismissed", "pending"}
UNPROVEN = {"alleged", "sued", "charged", "pending"}
# Words that make a sentence report a claim rather than state a fact.
CLAIM_MARKERS = ("alleg", "accus", "charged", "charges", "sued", "sues", "suing", "lawsuit", "complaint", "indict",
                 "prosecutors say", "prosecutors said", "claim", "denied", "denies", "pending", "untested", "unproven",
                 "never been tried", "not been tried")
CLAIM_MARKERS_ZH = ("涉嫌", "被诉", "起诉", "指控", "被控", "称", "否认", "尚未", "未经", "审理中")
# Where no court has been asked, the summary must say who says so.
ATTRIBUTION = ("said", "says", "disclosed", "announced", "reported", "according to", "found", "concluded", "told")
ATTRIBUTION_ZH = ("称", "表示", "披露", "公布", "据", "认定", "发现", "查明")
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
# Issue #23 asks for 90%; until then this floor (52 of 81 entries, 64%, on 2026-12-06) keeps the share from falling.
PRIMARY_FLOOR = 0.64
PRIMARY_TARGET = 0.9

ENTRIES = load()["incidents"]


def _ids(entries):
    return [e["key"] for e in entries]


def _primary(entry: dict) -> bool:
    return any(s["kind"] in PRIMARY_KINDS for s in entry["sources"])


def latest_status(entry: dict) -> str | None:
    """The status of the case whose latest step (decided, else filed) is the most recent; the last listed wins ties."""
    cases = [c for c in entry.get("cases", []) if c.get("status")]
    if not cases:
        return None
    return max(enumerate(cases), key=lambda ic: (ic[1].get("decided") or ic[1].get("filed") or "", ic[0]))[1]["status"]


def _has(text: str | None, markers) -> bool:
    return bool(text) and any(m in text.lower() for m in markers)


def test_the_set_is_large_enough_and_keys_are_unique():
    assert len(ENTRIES) >= 80
    assert len(set(_ids(ENTRIES))) == len(ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_every_entry_cites_a_primary_source_or_says_why_none_can_be_cited(entry):
    assert entry["sources"], "no source at all"
    if not _primary(entry):
        reason = entry.get("no_primary_reason") or ""
        assert len(reason.split()) >= 8, "news only, and no stated reason why no primary source is cited"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_every_source_says_what_it_is_and_where_it_came_from(entry):
    for source in entry["sources"]:
        assert source["kind"] in SOURCE_KINDS, source
        assert source["url"].startswith(("http://", "https://")), source
        assert source["title"] and source["publisher"] and source["language"], source
        assert source.get("published") is None or DATE.match(source["published"]), source


def test_the_share_with_a_primary_source_does_not_fall():
    share = sum(map(_primary, ENTRIES)) / len(ENTRIES)
    assert share >= PRIMARY_FLOOR, f"{share:.0%} of curated entries cite a primary source"


@pytest.mark.xfail(strict=True, reason="issue #23 target not reached yet: see PRIMARY_FLOOR; drop this mark when it passes")
def test_nine_in_ten_entries_cite_a_primary_source():
    assert sum(map(_primary, ENTRIES)) / len(ENTRIES) >= PRIMARY_TARGET


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_an_unproven_act_reads_as_an_allegation(entry):
    status = latest_status(entry)
    if status in UNPROVEN:
        assert _has(entry["title"], CLAIM_MARKERS), f"title states a {status} matter as fact"
        assert _has(entry["summary"], CLAIM_MARKERS), f"summary states a {status} matter as fact"
        if entry.get("summary_zh"):
            assert _has(entry["summary_zh"], CLAIM_MARKERS_ZH), f"Chinese summary states a {status} matter as fact"
    elif status is None:
        assert _has(entry["summary"], ATTRIBUTION + CLAIM_MARKERS), "no case, and the summary does not say who says so"
        if entry.get("summary_zh"):
            assert _has(entry["summary_zh"], ATTRIBUTION_ZH + CLAIM_MARKERS_ZH), "Chinese summary does not say who says so"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_every_case_has_a_known_status_type_and_dates(entry):
    for case in entry.get("cases", []):
        assert case["status"] in STATUSES, case
        assert case["case_type"] in {"civil", "criminal"}, case
        for field in ("filed", "decided"):
            assert case.get(field) is None or DATE.match(case[field]), case
        assert "damages_amount" not in case and "damages_currency" not in case


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_every_amount_has_a_kind_and_the_sentence_that_states_it(entry):
    assert "impact_amount" not in entry and "impact_currency" not in entry
    written = " ".join(entry.get(f) or "" for f in ("summary", "summary_zh", "impact_description", "outcome"))
    for amount in entry["amounts"]:
        assert amount["kind"] in AMOUNT_KINDS, amount
        assert amount["amount"] > 0 and re.fullmatch(r"[A-Z]{3}", amount["currency"]), amount
        assert amount["text"] and amount["text"] in written, f"amount sentence not in the entry: {amount['text']!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_every_entry_says_when_it_was_checked_and_chinese_cases_read_in_chinese(entry):
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.get("verified_on") or ""), "verified_on missing"
    if entry["country"] == "CN":
        assert entry.get("title_zh") and entry.get("summary_zh")
