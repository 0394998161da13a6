"""Export (IIDES, jsonl, csv) and the jsonl round trip into a fresh database."""

import csv
import json
import shutil

import pytest
from click.testing import CliRunner

from kb.cli import main

STARTER_KEY = "starter:bytedance-intern-model-training-sabotage-2024"


@pytest.fixture
def filled(kb, shared, tmp_path):
    """Starter set, the seed article (auto-linked), a few VCDB records and a manual edit."""
    seed = sorted((shared / "news" / "seed").glob("*.zh.md"))
    vcdb = sorted((shared / "vcdb" / "json").glob("*.json"))[:25]
    if not seed or not vcdb:
        pytest.skip("shared data incomplete")
    folder = tmp_path / "vcdb"
    folder.mkdir()
    for file in vcdb:
        shutil.copy(file, folder / file.name)
    kb("import", "starter")
    kb("import", "vcdb", str(folder))
    kb("add", str(seed[0]))
    kb("incident", "edit", STARTER_KEY, "sector=Internet")
    return kb


def counts(db_path):
    from kb.db import open_db

    db = open_db(db_path)
    tables = ("documents", "incidents", "cases", "incident_documents")
    out = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    out["methods"] = dict(db.execute("SELECT method, count(*) FROM incident_documents GROUP BY 1").fetchall())
    return out


def test_jsonl_round_trips_into_a_fresh_database(filled, db_path, tmp_path):
    out = tmp_path / "kb.jsonl"
    filled("export", "--format", "jsonl", "--output", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["type"] for r in lines} == {"incident", "document", "case"}
    fresh = tmp_path / "fresh.db"
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(fresh), "import", "jsonl", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert counts(fresh) == counts(db_path)
    shown = json.loads(runner.invoke(main, ["--db", str(fresh), "show", STARTER_KEY, "--json"]).stdout)
    assert shown["sector"] == "Internet" and shown["manual_fields"] == ["sector"]
    assert any(f["kind"] == "organisation" for f in shown["facts"])  # entities re-extracted
    # Exporting the imported database gives the same records.
    again = tmp_path / "again.jsonl"
    runner.invoke(main, ["--db", str(fresh), "export", "--format", "jsonl", "-o", str(again)])
    assert sorted(again.read_text(encoding="utf-8").splitlines()) == sorted(out.read_text(encoding="utf-8").splitlines())


def test_iides_bundles(filled):
    bundles = json.loads(filled("export", "--format", "iides").stdout)
    bundle = next(b for b in bundles if any(o.get("name") == "ByteDance" for o in b["objects"]))
    kinds = {o["id"].split("--")[0] for o in bundle["objects"]}
    assert {"incident", "insider", "organization", "job", "court-case", "source"} <= kinds
    incident = next(o for o in bundle["objects"] if o["id"].startswith("incident--"))
    assert incident["incident_type"] == ["S"]
    job = next(o for o in bundle["objects"] if o["id"].startswith("job--"))
    assert job["employment_type"] == "INT"
    case = next(o for o in bundle["objects"] if o["id"].startswith("court-case--"))
    assert case["case_type"] == "1"
    ids = {o["id"] for o in bundle["objects"]}
    assert all(r["object1"] in ids and r["object2"] in ids for r in bundle["relationships"])


def test_iides_charges_and_sentences_for_criminal_cases(kb, tmp_path):
    doc = tmp_path / "doj.txt"
    doc.write_text(
        "Former Cisco engineer sentenced for deleting virtual machines\n\n"
        "A former Cisco engineer was sentenced to 24 months in prison in the Northern District of "
        "California, case 5:19-cr-00523, after pleading guilty to intentionally damaging a protected "
        "computer under 18 U.S.C. 1030. The deletion cost Cisco $1.4 million.", encoding="utf-8")
    kb("add", str(doc))
    (bundle,) = json.loads(kb("export", "--format", "iides").stdout)
    charge = next(o for o in bundle["objects"] if o["id"].startswith("charge--"))
    assert (charge["title"], charge["section"]) == ("18 U.S.C.", "1030")
    sentence = next(o for o in bundle["objects"] if o["id"].startswith("sentence--"))
    assert sentence["quantity"] == 24
    case = next(o for o in bundle["objects"] if o["id"].startswith("court-case--"))
    assert (case["case_number"], case["case_type"]) == ("5:19-cr-00523", "2")


def test_csv_export(filled, tmp_path):
    folder = tmp_path / "csv"
    filled("export", "--format", "csv", "--output", str(folder))
    with (folder / "incidents.csv").open(encoding="utf-8") as fh:
        incidents = list(csv.DictReader(fh))
    with (folder / "documents.csv").open(encoding="utf-8") as fh:
        documents = list(csv.DictReader(fh))
    stats = filled.json("stats")
    assert len(incidents) == stats["incidents"] and len(documents) == stats["documents"]
    seed = next(d for d in documents if d["source"] == "安全内参")
    assert STARTER_KEY in seed["incidents"].split()
