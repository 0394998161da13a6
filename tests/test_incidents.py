"""Linking documents to incidents through the real CLI, on real data."""

import importlib.util
import json
import time
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
    assert (inc["impact_amount"], inc["impact_currency"]) == (8_000_000, "CNY")
    assert "dismissed (2024-08)" in inc["outcome"]
    (case,) = inc["cases"]
    assert case["court"] == "Beijing Haidian District People's Court"
    assert (case["case_type"], case["filed"], case["status"]) == ("civil", "2024-11-27", "accepted")
    assert (case["damages_amount"], case["damages_currency"]) == (8_000_000, "CNY")
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
    assert kb.json("stats")["incidents"] == 2


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


def test_vcdb_import_keeps_every_vcdb_incident_apart_and_links_fast(kb, vcdb_dir, db_path):
    started = time.perf_counter()
    kb("import", "vcdb", str(vcdb_dir))
    elapsed = time.perf_counter() - started
    from kb.db import open_db

    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM incidents").fetchone()[0] == 3951
    assert db.execute("SELECT count(*) FROM incident_documents WHERE method != 'source'").fetchone()[0] == 0
    assert db.execute("SELECT max(n) FROM (SELECT count(*) n FROM incident_documents GROUP BY incident_id)"
                      ).fetchone()[0] == 1
    assert db.execute("SELECT count(DISTINCT document_id) FROM document_entities").fetchone()[0] > 3000
    assert elapsed < 90, f"import + linking took {elapsed:.0f}s"
    # A second import changes nothing and links nothing.
    assert "3951 unchanged" in kb("import", "vcdb", str(vcdb_dir)).output


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
