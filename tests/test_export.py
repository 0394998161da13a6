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
    from kb.storage.db import open_db

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
    seed = next(r for r in lines if r["type"] == "document" and r["language"] == "zh" and r["source"] != "starter")
    assert seed["incidents"][0]["incident"] == STARTER_KEY  # with the evidence the linker joined them on
    assert "organisation: ByteDance" in seed["incidents"][0]["evidence"]
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
    stats = filled.json("stats", "--scope", "all")
    assert len(incidents) == stats["incidents"] and len(documents) == stats["documents"]
    seed = next(d for d in documents if d["source"] == "安全内参")
    assert STARTER_KEY in seed["incidents"].split()


# --- IIDES: validated against the official schemas, checked against the curated set ----------------

IIDES_BASE = "https://iides.invalid/"  # the schemas' relative $ids, registered under an absolute base


@pytest.fixture(scope="module")
def iides_validator():
    """A validator for IIDES bundles built from ../shared/data/iides (schemas registered by path)."""
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from kb.settings import shared_data

    root = shared_data() / "iides"
    if not (root / "json").is_dir():
        pytest.skip("no IIDES schemas in shared data")
    resources = []
    for path in sorted((root / "json").rglob("*.json")):
        uri = IIDES_BASE + "iides/" + path.relative_to(root).as_posix()
        contents = {**json.loads(path.read_text(encoding="utf-8")), "$id": uri}
        resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)
    schema = registry.contents(IIDES_BASE + "iides/json/objects/bundle.json")
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    properties = {path.stem: set(json.loads(path.read_text(encoding="utf-8")).get("properties", {}))
                  for path in (root / "json" / "objects").glob("*.json")}
    properties["insider"] |= properties["person"]  # insider.json extends person.json
    examples = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / "examples" / "json").glob("*.json"))]
    return validator, properties, examples


def _of(bundle, kind):
    return [o for o in bundle["objects"] if o["id"].split("--")[0] == kind]


def _months(obj):
    return obj["quantity"] * 12 if obj.get("metric") == "4" else obj.get("quantity")


# Sentences the curated sources state (read from them, not from the exporter): key -> (IIDES type, months or days).
CURATED_SENTENCES = {
    "cisco-webex-aws-vm-deletion-2018": ("9", 24), "weimob-production-data-deletion-2020": ("9", 72),
    "lianjia-finance-system-deletion-2018": ("9", 84), "jd-daojia-code-deletion-2021": ("9", 10),
    "ubs-painewebber-logic-bomb-2002": ("9", 97), "eaton-kill-switch-davis-lu-2019": ("9", 48),
    "first-republic-bank-brody-sabotage-2020": ("9", 24), "carlsbad-office365-account-deletion-2018": ("9", 24),
    "goldman-sachs-aleynikov-source-code-2009": ("9", 97), "waymo-levandowski-trade-secrets-2015": ("9", 18),
    "twitter-saudi-spying-2015": ("9", 42), "ubiquiti-sharp-data-theft-extortion-2020": ("9", 72),
    "morrisons-payroll-data-leak-2014": ("9", 96), "ge-turbine-trade-secrets-zheng-2017": ("9", 24),
    "siemens-contractor-logic-bombs-2014": ("9", 6), "capital-one-paige-thompson-2019": ("13", 60),
}


def test_iides_bundles_validate_and_carry_the_legal_record(filled, iides_validator):
    validator, properties, examples = iides_validator
    for example in examples:  # the validator accepts the official examples
        assert not list(validator.iter_errors(example))
    example_kinds = {o["id"].split("--")[0] for e in examples for o in e["objects"]}
    for obj in (o for e in examples for o in e["objects"]):  # fields the authors use beyond the schema
        properties.setdefault(obj["id"].split("--")[0], set()).update(obj)
    bundles = json.loads(filled("export", "--format", "iides").stdout)
    errors = [(b["id"], e.message) for b in bundles for e in validator.iter_errors(b)]
    assert errors == []
    for bundle in bundles:
        for obj in bundle["objects"]:
            kind = obj["id"].split("--")[0]
            assert kind in example_kinds and set(obj) <= properties[kind] | {"id"}, (kind, set(obj) - properties[kind])
        cases = _of(bundle, "court-case")
        assert len(_of(bundle, "legal-response")) == len(cases)  # every court case has its legal response
        if cases and all(c.get("case_type") == "1" for c in cases):
            assert not _of(bundle, "sentence")  # no prison term on a civil suit
    by_key = {b["id"]: b for b in bundles}
    from kb.export.iides import _NS
    import uuid
    for key, (stype, months) in CURATED_SENTENCES.items():
        bundle = by_key[f"bundle--{uuid.uuid5(_NS, 'starter:' + key)}"]
        found = [(s["sentence_type"], _months(s)) for s in _of(bundle, "sentence")]
        assert (stype, months) in found, (key, found)
    zhang = by_key[f"bundle--{uuid.uuid5(_NS, 'starter:apple-xiaolang-zhang-autonomous-driving-2018')}"]
    assert {"sentence_type": "9", "quantity": 120, "metric": "2"}.items() <= _of(zhang, "sentence")[0].items()
    sources = [s for b in bundles for s in _of(b, "source")]
    assert sum(1 for s in sources if s.get("source_type")) >= 0.9 * len(sources)


def test_iides_one_insider_per_person_and_claims_are_not_losses(filled):
    bundles = json.loads(filled("export", "--format", "iides").stdout)
    twitter = next(b for b in bundles if any(o.get("name") == "Twitter" for o in _of(b, "organization")))
    assert sorted(i["last_name"] for i in _of(twitter, "insider")) == ["Abouammo", "Alzabarah"]
    assert sorted(i["incident_role"] for i in _of(twitter, "insider")) == ["1", "2"]
    bytedance = next(b for b in bundles if any(o.get("name") == "ByteDance" for o in _of(b, "organization")))
    assert not _of(bytedance, "impact")  # the CNY 8,000,000 is a claim, not a loss
    (case,) = _of(bytedance, "court-case")
    assert (case["case_type"], case["plaintiff"], case["defendant"]) == ("1", ["ByteDance"], ["田某某"])
    cisco = next(b for b in bundles if any(o.get("name") == "Cisco Systems" for o in _of(b, "organization")))
    (response,) = _of(cisco, "legal-response")
    assert response["insider_sentenced"] == "2020-12-09"
    assert any(s["source_type"] == "2" and "justice.gov" in s["document"] for s in _of(cisco, "source"))


def test_curated_sources_belong_to_one_case_and_cite_the_prosecutor_where_known():
    from kb.sources.starter import load

    entries = load()["incidents"]
    owners: dict[str, list[str]] = {}
    for entry in entries:
        assert entry["sources"], entry["key"]
        for source in entry["sources"]:
            owners.setdefault(source["url"], []).append(entry["key"])
    assert {url: keys for url, keys in owners.items() if len(keys) > 1} == {}  # no page cited for two cases
    weimob = next(e for e in entries if e["key"] == "weimob-production-data-deletion-2020")
    assert not any("yzsam.com" in s["url"] for s in weimob["sources"])  # that page reports the JD Daojia case
    bytedance = next(e for e in entries if e["key"] == "bytedance-intern-model-training-sabotage-2024")
    assert {(a["kind"], a["amount"]) for a in bytedance["amounts"]} == {("claimed", 8_000_000), ("claimed", 20_000)}
