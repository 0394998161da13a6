"""Linking documents to incidents through the real CLI, on real data."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

STARTER_KEY = "starter:bytedance-intern-model-training-sabotage-2024"
BENCH = Path(__file__).resolve().parent.parent / "bench" / "clustering.py"


@pytest.fixture
def seed(shared):
    files = sorted((shared / "news" / "seed").glob("*.zh.md"))
    if not files:
        pytest.skip("seed article not found")
    return str(files[0])


def incident_of(kb, doc: str) -> dict:
    (link,) = kb.json("show", doc)["incidents"]
    return link


def test_seed_joins_the_starter_incident_of_the_same_case(kb, seed):
    kb("import", "starter")
    before = kb.json("stats")["incidents"]
    out = kb("add", seed).output
    assert "0 new incidents" in out
    assert kb.json("stats")["incidents"] == before
    starter = kb.json("show", STARTER_KEY)
    seed_doc = next(d for d in starter["documents"] if d["source"] == "安全内参")
    assert seed_doc["method"] == "auto" and seed_doc["confidence"] >= 0.6
    assert {"starter"} < {d["source"] for d in starter["documents"]}
    assert len(starter["cases"]) == 1  # the seed's court case is the starter's, not a second one
    assert starter["cases"][0]["court"] == "北京市海淀区人民法院"


def test_seed_alone_makes_an_incident_with_iides_fields(kb, seed):
    kb("add", seed)
    inc = kb.json("show", incident_of(kb, "d1")["key"])
    assert inc["organisation"] == "ByteDance" and inc["country"] == "CN"
    assert (inc["insider_role"], inc["employment_type"]) == ("intern", "Intern")
    assert (inc["incident_type"], inc["incident_subtype"]) == ("sabotage", "model training sabotage")
    assert (inc["date_start"], inc["date_end"]) == ("2024-06", "2024-07")
    assert inc["impact_amount"] is None  # the CNY 8 million is a claim, not a loss
    assert {"kind": "claimed", "amount": 8_000_000, "currency": "CNY"}.items() <= inc["amounts"][0].items()
    assert inc["legal_status"] == "pending" and inc["scope"] == "in"
    assert "dismissed (2024-08)" in inc["outcome"]
    (case,) = inc["cases"]
    assert case["court"] == "Beijing Haidian District People's Court"
    assert (case["case_type"], case["filed"], case["status"], case["legal_status"]) == ("civil", "2024-11-27", "accepted", "pending")
    assert (case["damages_amount"], case["damages_currency"], case["damages_kind"]) == (8_000_000, "CNY", "claimed")
    assert "20,000 CNY" in case["claims"] and "public apology" in case["claims"]
    # Facts carry their provenance.
    doc = inc["documents"][0]
    assert {"source", "url", "title", "published", "language"} <= set(doc)
    costs = next(f for f in inc["facts"] if f["kind"] == "money" and f["label"] == "costs")
    mention = costs["mentions"][0]
    assert mention["surface"] == "2万元" and mention["document_id"] == doc["id"]
    assert "合理支出2万元" in mention["context"]


def test_english_and_chinese_reports_of_one_case_cluster(kb, seed):
    kb("add", seed)
    kb("add", str(FIXTURES / "bytedance_intern_en.md"))
    kb("add", str(FIXTURES / "weimob_deletion_en.md"))
    zh, en, other = (incident_of(kb, d) for d in ("d1", "d2", "d3"))
    assert zh["id"] == en["id"]
    assert en["method"] == "auto" and en["confidence"] >= 0.6
    assert other["id"] != zh["id"]
    assert kb.json("stats", "--scope", "all")["incidents"] == 2


def test_manual_decisions_survive_relink_and_reimport(kb, seed):
    kb("import", "starter")
    kb("add", seed)
    starter = kb.json("show", STARTER_KEY)
    seed_id = next(d["id"] for d in starter["documents"] if d["source"] == "安全内参")
    out = kb("incident", "split", STARTER_KEY, f"d{seed_id}").output
    new_id = int(out.split()[2][1:])
    kb("incident", "edit", f"i{new_id}", "title=Seed article, kept apart", "impact_amount=1")
    kb("incident", "relink")
    assert incident_of(kb, f"d{seed_id}")["id"] == new_id
    split = kb.json("show", f"i{new_id}")
    assert split["title"] == "Seed article, kept apart" and split["impact_amount"] == 1
    assert set(split["manual_fields"]) == {"title", "impact_amount"}
    # Merge it back: the merge holds through relink and a re-import of the starter set.
    kb("incident", "merge", STARTER_KEY, f"i{new_id}")
    kb("incident", "relink")
    kb("import", "starter")
    merged = kb.json("show", STARTER_KEY)
    assert seed_id in {d["id"] for d in merged["documents"]}
    assert kb.json("show", f"i{new_id}")["merged_into"] == merged["id"]
    assert kb("incident", "merge", STARTER_KEY, STARTER_KEY, ok=False).exit_code == 1


def test_edit_rejects_unknown_fields(kb, seed):
    kb("add", seed)
    result = kb("incident", "edit", "i1", "colour=blue", ok=False)
    assert result.exit_code == 1 and "cannot edit colour" in result.output


def test_similar_lists_related_incidents(kb):
    kb("import", "starter")
    results = kb.json("similar", STARTER_KEY)
    assert results, "the starter set has other ByteDance and sabotage incidents"
    top = results[0]
    assert {"id", "key", "title", "score", "shared"} <= set(top)
    assert any("organisation" in r["shared"] or "incident_type" in r["shared"] for r in results)
    assert "i" in kb("similar", STARTER_KEY).output


def test_vcdb_import_joins_only_duplicates_of_one_breach_with_their_evidence(kb, vcdb_dir, db_path):
    kb("import", "vcdb", str(vcdb_dir))
    from kb.storage.db import open_db

    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM incidents").fetchone()[0] == 3951
    merged = db.execute("SELECT i.id, i.merge_evidence FROM incidents i WHERE merged_by = 'auto'").fetchall()
    assert 5 <= len(merged) < 100, "VCDB codes some breaches twice; most records are their own incident"
    for _, evidence in merged:  # every merge says why, with evidence that identifies a case
        reasons = json.loads(evidence)
        assert any(r.startswith(("same text", "person", "surname", "case number", "amount")) for r in reasons)
    auto = db.execute("SELECT evidence FROM incident_documents WHERE method = 'auto'").fetchall()
    assert auto and all(json.loads(e) for e, in auto)
    # Known duplicates (same victim, summary and date) end in one incident; template texts do not.
    pairs = json.loads((FIXTURES / "vcdb_pairs.json").read_text())["pairs"]

    def final(external_id: str) -> set[int]:
        return {r[0] for r in db.execute(
            "SELECT coalesce(i.merged_into, i.id) FROM documents d JOIN incident_documents l ON l.document_id = d.id "
            "JOIN incidents i ON i.id = l.incident_id WHERE d.source = 'vcdb' AND d.external_id = ?", [external_id])}

    def together(a: str, b: str) -> bool:
        return bool(final(a) & final(b))

    assert all(together(p["a"], p["b"]) for p in pairs if p["same"] and "coded twice" in p["why"])
    assert not any(together(p["a"], p["b"]) for p in pairs if "template" in p["why"])
    assert db.execute("SELECT count(DISTINCT document_id) FROM document_entities").fetchone()[0] > 3000
    # A second import changes nothing.
    assert "3951 unchanged" in kb("import", "vcdb", str(vcdb_dir)).output


def test_curated_incidents_join_their_vcdb_records_and_relink_is_deterministic(kb, vcdb_dir, tmp_path, db_path):
    from kb.storage.db import open_db

    folder = tmp_path / "vcdb"
    folder.mkdir()
    wanted = ("a15200e0", "69aecca0", "b4d68070", "79CC2FA9")  # Capital One 2019, GE, Apple; Capital One 2013
    for file in vcdb_dir.glob("*.json"):
        data = json.loads(file.read_text(encoding="utf-8"))
        if data["incident_id"].startswith(wanted):
            (folder / file.name).write_text(json.dumps(data), encoding="utf-8")
    kb("import", "starter")
    kb("import", "vcdb", str(folder))
    refs = ["capital-one-paige-thompson-2019", "ge-turbine-trade-secrets-zheng-2017",
            "apple-xiaolang-zhang-autonomous-driving-2018", "apple-jizhong-chen-autonomous-driving-2018", *wanted]

    def grouping() -> list[int]:
        """The live incident of each record's document (following merges)."""
        db = open_db(db_path)
        out = []
        for ref in refs:
            rows = db.execute(
                "SELECT coalesce(i.merged_into, i.id) FROM documents d JOIN incident_documents l ON l.document_id = d.id "
                "JOIN incidents i ON i.id = l.incident_id WHERE d.external_id = ? OR d.external_id LIKE ? "
                "ORDER BY l.method = 'source'", [ref, f"{ref}%"]).fetchall()
            out.append(rows[0][0])
        db.conn.close()
        return out

    before = grouping()
    assert before[0] == before[4]  # Capital One: curated + VCDB (Paige Thompson)
    assert before[1] == before[5]  # GE: curated + VCDB (Zheng)
    assert before[2] == before[6]  # Apple: curated Xiaolang Zhang + VCDB
    assert before[3] != before[6]  # Apple's other engineer stays apart
    assert before[0] != before[7]  # Capital One 2013 is another case
    curated = kb.json("show", "starter:capital-one-paige-thompson-2019")
    vcdb_doc = next(d for d in curated["documents"] if d["source"] == "vcdb")
    assert vcdb_doc["method"] == "auto" and any(r.startswith("person") for r in vcdb_doc["evidence"])
    kb("incident", "relink")
    assert grouping() == before
    # A person's split wins over the machine, also after relink.
    out = kb("incident", "split", "starter:capital-one-paige-thompson-2019", f"d{vcdb_doc['id']}").output
    new_id = int(out.split()[2][1:])
    kb("incident", "relink")
    after = grouping()
    assert after[4] == new_id != after[0]


def test_candidates_are_listed_for_review_not_merged(kb, tmp_path):
    kb("import", "starter")
    note = tmp_path / "apple.txt"
    note.write_text("An Apple engineer working on the self-driving car project was charged in 2018 with "
                    "stealing trade secrets before leaving for a Chinese start-up.", encoding="utf-8")
    doc_id = int(re.search(r": d(\d+) ", kb("add", str(note)).output).group(1))  # after the starter's documents
    listed = kb.json("incident", "candidates")
    mine = [c for c in listed if c["document_id"] == doc_id]
    assert mine, "an unnamed Apple engineer in 2018 could be either Apple case: a person decides"
    assert all(c["evidence"] and 0.35 <= c["score"] < 0.6 for c in mine)
    assert kb.json("show", f"d{doc_id}")["incidents"][0]["key"].startswith("auto:")
    assert "No candidates" not in kb("incident", "candidates").output


def test_blind_clustering_on_labelled_vcdb_pairs(vcdb_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("clustering", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pairs = json.loads((FIXTURES / "vcdb_pairs.json").read_text())["pairs"]
    records = bench.load_records(vcdb_dir)
    ids = sorted({p[k] for p in pairs for k in ("a", "b")})
    result = bench.run_blind(tmp_path / "blind.db", records, pairs, ids)
    print({k: v for k, v in result.items() if k != "wrong"})
    assert sum(p["same"] for p in pairs) >= 8 and len(pairs) >= 200
    assert result["precision"] >= 0.9
    assert result["recall"] >= 0.8


def test_linking_meets_its_floors_on_the_labelled_pairs(shared):
    """Pairwise precision and recall on tests/data/same_case_pairs.tsv + vcdb_pairs.json (bench/linking.py)."""
    spec = importlib.util.spec_from_file_location("linking", BENCH.parent / "linking.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if not (shared / "vcdb" / "json").is_dir():
        pytest.skip("VCDB data not found")
    result = bench.evaluate(sample_only=True)
    linker, baseline = result["linker"], result["baseline"]
    print({k: v for k, v in linker.items() if k != "wrong"}, {k: v for k, v in baseline.items() if k != "wrong"})
    assert not result["missing"]
    assert linker["pairs"] >= 300 and linker["tp"] + linker["fn"] >= 25
    assert linker["precision"] >= 0.95 and linker["recall"] >= 0.9
    assert linker["precision"] > baseline["precision"]
    assert result["curated_joined_with_vcdb"] == result["curated_also_in_vcdb"] >= 3
    assert {"curated-vcdb", "vcdb-vcdb", "news-curated", "en-zh"} <= set(result["by_kind"])


def test_similar_uses_the_embeddings_once_documents_are_embedded(kb, seed):
    kb("import", "starter")
    kb("embed")
    results = kb.json("similar", STARTER_KEY)
    assert results and all(r["cosine"] is not None for r in results)
