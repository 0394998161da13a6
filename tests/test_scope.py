"""Scope, legal status and amounts with their kinds, derived for every incident on the real write
path: real VCDB records and the curated set (shared data), and documents added with `kb add`."""

import json
from pathlib import Path

import pytest

from kb.incidents.scope import decide

LABELS = Path(__file__).parent / "data" / "scope_labels.tsv"
# Real VCDB records (file names in ../shared/data/vcdb/json) and what a reader of each concludes.
RECORDS = {
    "AF86926E-CF16-4ECC-B4B2-9C2E26CF98A4.json": "in",   # former IT manager sent damaging code to servers
    "a35aede0-e792-44b6-8d92-dabe9e41cd05.json": "in",   # lottery IT director planted code in the RNG
    "BA065568-C2E3-43D2-B0A1-7B3483825888.json": "in",   # employee tried to sell customer data
    "C2CED3FD-8956-471A-9D90-12579668F3E7.json": "out",  # another patient's file on a CD: misdelivery
    "3E61F9A8-E16C-4864-9AEA-345053873793.json": "out",  # looked at a relative's record: snooping
    "19C078E1-5F96-4CA2-8819-15BB2CAFCF8E.json": "unsure",  # the whole summary: "Misuse"
}


@pytest.fixture
def vcdb_sample(tmp_path, vcdb_dir) -> Path:
    folder = tmp_path / "vcdb"
    folder.mkdir()
    for name in RECORDS:
        (folder / name).symlink_to(vcdb_dir / name)
    return folder


def test_vcdb_records_get_the_scope_a_reader_gives_them_with_a_reason(kb, vcdb_sample):
    kb("import", "vcdb", str(vcdb_sample))
    for name, scope in RECORDS.items():
        incident_id = json.loads((vcdb_sample / name).read_text())["incident_id"]
        shown = kb.json("show", f"vcdb:{incident_id}")
        assert shown["scope"] == scope, (name, shown["scope_reason"])
        assert shown["scope_reason"]
        document = kb.json("show", incident_id)
        assert [(i["scope"], i["scope_reason"]) for i in document["incidents"]] == \
            [(shown["scope"], shown["scope_reason"])]
    misdelivery = kb.json("show", "vcdb:C2CED3FD-8956-471A-9D90-12579668F3E7")
    assert "misdelivery" in misdelivery["scope_reason"]
    assert "snooping" in kb.json("show", "vcdb:3E61F9A8-E16C-4864-9AEA-345053873793")["scope_reason"]


def test_search_and_stats_default_to_in_scope_and_scope_all_shows_the_rest(kb, vcdb_sample):
    kb("import", "vcdb", str(vcdb_sample))
    assert kb.json("stats")["incidents"] == 3
    everything = kb.json("stats", "--scope", "all")
    assert everything["incidents"] == 6 and everything["incidents_by_scope"] == {"in": 3, "out": 2, "unsure": 1}
    query = ["search", "medical records CD patient file", "--mode", "keyword", "--json"]
    assert not any(h["external_id"].startswith("C2CED3FD") for h in kb.json(*query))
    hits = kb.json(*query, "--scope", "all")
    assert any(h["external_id"].startswith("C2CED3FD") and h["scope"] == "out" for h in hits)
    assert kb("search", "x", "--scope", "maybe", ok=False).exit_code != 0


def test_the_rules_agree_with_the_labelled_vcdb_records(vcdb_dir):
    """The labels were written by hand before the rules; bench/scope.py prints the figures."""
    from kb.sources import vcdb

    by_id = {}
    for file in vcdb_dir.glob("*.json"):
        rec = vcdb.to_record(json.loads(file.read_text(encoding="utf-8")))
        by_id[rec.incident.key] = {**rec.incident.row(), "veris": rec.meta["veris"]}
    lines = [line.split("\t") for line in LABELS.read_text(encoding="utf-8").splitlines()[1:]
             if line and not line.startswith(("#", "key\t"))]
    vcdb_labels = [(key, label) for key, label, _ in lines if key.startswith("vcdb:")]
    assert len(vcdb_labels) >= 300
    said = [(label, decide(by_id[key])[0]) for key, label in vcdb_labels if label != "unsure"]
    right_in = sum(1 for label, scope in said if label == scope == "in")
    assert right_in / sum(1 for _, scope in said if scope == "in") >= 0.9  # precision
    assert right_in / sum(1 for label, _ in said if label == "in") >= 0.9  # recall


def test_curated_incidents_are_in_scope_with_their_case_status(kb):
    kb("import", "starter")
    shown = kb.json("show", "starter:bytedance-intern-model-training-sabotage-2024")
    assert shown["scope"] == "in"
    assert shown["legal_status"] == "pending" and shown["legal_status_date"] == "2024-11-27"
    assert "People's Court" in shown["legal_status_sentence"]
    (case,) = shown["cases"]
    assert (case["status"], case["legal_status"]) == ("pending", "pending")
    assert (case["damages_amount"], case["damages_kind"]) == (8_000_000, "claimed")
    assert shown["impact_amount"] is None  # a claim is not a loss
    assert {(a["kind"], a["amount"], a["origin"]) for a in shown["amounts"]} == \
        {("claimed", 8_000_000, "source"), ("claimed", 20_000, "source")}
    assert kb.json("stats")["incidents_by_legal_status"]


def test_vcdb_titles_say_how_far_the_act_was_proven(kb, vcdb_sample):
    kb("import", "vcdb", str(vcdb_sample))
    sabotage = kb.json("show", "vcdb:AF86926E-CF16-4ECC-B4B2-9C2E26CF98A4")
    assert sabotage["legal_status"] == "pleaded guilty"
    assert sabotage["title"] == "Smart Online Inc: former employee destroy data (pleaded guilty, 2012)"
    error = kb.json("show", "vcdb:C2CED3FD-8956-471A-9D90-12579668F3E7")
    assert "(reported, " in error["title"]
    snooping = kb.json("show", "vcdb:3E61F9A8-E16C-4864-9AEA-345053873793")
    assert snooping["legal_status"] == "alleged" and "(alleged, " in snooping["title"]


CONVICTED = """---
title: Former Acme engineer sentenced for wiping production servers
date: 2023-10-03
---
A former systems engineer at Acme Robotics deleted the company's production database and backups after he was fired in January 2022.

He was charged in March 2023 with intentional damage to a protected computer. He pleaded guilty on 5 June 2023.

On 2 October 2023 he was sentenced to two years in prison and ordered to pay $50,000 in restitution.
"""
SUED = """---
title: Beta Labs sues former intern over tampered training jobs
date: 2024-05-10
---
Beta Labs has sued a former intern, accusing him of tampering with code to sabotage its model training jobs.

The company is seeking $2 million in damages. It said the tampering caused losses of $300,000 in wasted computing time.
"""


def test_legal_status_is_the_latest_step_with_its_date_and_sentence(kb, tmp_path):
    (tmp_path / "convicted.md").write_text(CONVICTED, encoding="utf-8")
    kb("add", str(tmp_path / "convicted.md"))
    shown = kb.json("show", "i1")
    assert (shown["legal_status"], shown["legal_status_date"]) == ("convicted", "2023-10-02")
    assert shown["legal_status_sentence"].startswith("On 2 October 2023 he was sentenced")
    assert shown["legal_status_document"] == 1
    (hit,) = kb.json("search", "wiping production servers", "--mode", "keyword", "--json")
    assert (hit["legal_status"], hit["legal_status_date"], hit["scope"]) == ("convicted", "2023-10-02", "in")


def test_amounts_keep_their_kind_and_sentence_and_kinds_are_never_added(kb, tmp_path):
    (tmp_path / "sued.md").write_text(SUED, encoding="utf-8")
    (tmp_path / "convicted.md").write_text(CONVICTED, encoding="utf-8")
    kb("add", str(tmp_path / "sued.md"), str(tmp_path / "convicted.md"))
    sued = kb.json("show", "i1")
    assert sued["legal_status"] == "sued"
    assert {(a["kind"], a["amount"]) for a in sued["amounts"]} == {("claimed", 2_000_000), ("loss_reported", 300_000)}
    assert all(a["text"] and str(int(a["amount"]))[:1] in a["text"] for a in sued["amounts"])
    assert (sued["impact_amount"], sued["impact_kind"]) == (300_000, "loss_reported")  # not 2.3 million
    convicted = kb.json("show", "i2")
    assert (convicted["impact_amount"], convicted["impact_kind"]) == (50_000, "restitution")
    kb("incident", "merge", "i2", "i1")
    merged = kb.json("show", "i2")
    assert merged["legal_status"] == "convicted"
    assert (merged["impact_amount"], merged["impact_kind"]) == (300_000, "loss_reported")
    kb("incident", "edit", "i2", "incident_type=unintentional")
    assert kb.json("show", "i2")["scope"] == "out"


def test_the_search_page_answers_in_scope_by_default_and_all_on_request(db_path, kb, vcdb_sample):
    import asyncio
    from urllib.parse import quote

    from kb.web.app import make_datasette

    kb("import", "vcdb", str(vcdb_sample))
    site = make_datasette(db_path)
    asyncio.run(site.invoke_startup())
    query = "/-/kb-search.json?mode=keyword&q=" + quote("medical records CD patient file")
    default = asyncio.run(site.client.get(query)).json()
    assert default["filters"]["scope"] == "in"
    assert not any(h["external_id"].startswith("C2CED3FD") for h in default["hits"])
    every = asyncio.run(site.client.get(query + "&scope=all")).json()["hits"]
    assert any(h["external_id"].startswith("C2CED3FD") and h["scope"] == "out" for h in every)
    page = asyncio.run(site.client.get("/-/kb-search?mode=keyword&q=file")).text
    assert '<option value="all">all incidents</option>' in page and "in the field)" in page
