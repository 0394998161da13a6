"""`kb search` over real databases: fields, modes, filters, Chinese, batch queries, relevance."""

import json
from pathlib import Path

import pytest

from kb import config, embed, vector_index as index
from kb.db import open_db
from kb.importers import vcdb
from kb.search_eval import evaluate, read_labelled
from kb.search import Searcher
from kb.store import save_many
from tests.conftest import cli

FIELDS = {"rank", "score", "document_id", "source", "external_id", "url", "title", "published",
          "kind", "snippet", "incident_id"}
BYTEDANCE = "bytedance-intern-model-training-sabotage-2024"


def test_hybrid_finds_the_bytedance_case_from_an_english_paraphrase(starter_db):
    hits = cli(starter_db).json("search", "intern sabotaged model training jobs", "-k", "5")
    assert FIELDS <= set(hits[0])
    assert hits[0]["external_id"].startswith(BYTEDANCE)
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert len({h["document_id"] for h in hits}) == len(hits)  # one hit per document
    assert hits[0]["incident_id"] is not None


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_every_mode_answers(starter_db, mode):
    hits = cli(starter_db).json("search", "logic bomb planted by a contractor", "--mode", mode)
    assert hits and "logic bomb" in (hits[0]["title"] + hits[0]["snippet"]).lower()


def test_chinese_keyword_search_finds_the_seed_and_short_terms_work(starter_db):
    run = cli(starter_db)
    hits = run.json("search", "实习生", "--mode", "keyword")
    assert any(h["source"] == "安全内参" for h in hits)
    two_chars = run.json("search", "删库", "--mode", "keyword")
    assert two_chars and all("删库" in (h["title"] + h["snippet"]) or h["kind"] == "curated" for h in two_chars)
    assert any("微盟" in h["title"] for h in two_chars)


def test_filters_apply(starter_db):
    run = cli(starter_db)
    news = run.json("search", "字节跳动 实习生", "--kind", "news")
    assert news and {h["kind"] for h in news} == {"news"}
    zh = run.json("search", "sabotage", "--language", "zh", "-k", "20")
    assert zh and all(h["external_id"].endswith("#zh") or h["source"] == "安全内参" for h in zh)
    old = run.json("search", "trade secrets", "--until", "2012", "-k", "20")
    assert old and all(h["published"] <= "2012~" for h in old)
    recent = run.json("search", "trade secrets", "--since", "2023-01-01", "-k", "20")
    assert recent and all(h["published"] >= "2023-01-01" for h in recent)
    assert run.json("search", "trade secrets", "--source", "nowhere") == []


def test_plain_output_is_a_readable_table(starter_db):
    out = cli(starter_db)("search", "deleted cloud virtual machines", "-k", "3").output
    assert out.splitlines()[0].startswith("  1. ")
    assert "score" in out and "starter:" in out


def test_empty_and_absurd_queries_get_a_clear_message(starter_db):
    run = cli(starter_db)
    for query in ("", "   ", "!!! ???", "x" * 5000):
        result = run("search", query, ok=False)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and "Traceback" not in result.output


def test_batch_queries_print_one_json_object_per_line(starter_db, tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("intern tampered with training code\n\n删库\n???\n", encoding="utf-8")
    out = cli(starter_db)("search", "--queries", str(queries), "--json", "-k", "3").output
    lines = [json.loads(line) for line in out.splitlines()]
    assert [l["query"] for l in lines] == ["intern tampered with training code", "删库", "???"]
    assert lines[0]["hits"][0]["external_id"].startswith(BYTEDANCE)
    assert FIELDS <= set(lines[1]["hits"][0])
    assert lines[2]["hits"] == [] and "nothing to search" in lines[2]["error"]


@pytest.fixture(scope="session")
def vcdb_db(tmp_path_factory, model, shared) -> Path:
    """The whole VCDB import, embedded and indexed (built once: a few minutes on 2 CPU cores)."""
    path = tmp_path_factory.mktemp("vcdb") / "kb.db"
    db = open_db(path)
    save_many(db, vcdb.iter_records(shared / "vcdb" / "json"))
    embed.embed(db, model=model)
    index.sync(db, config.index_path(path))
    return path


@pytest.mark.parametrize("queries, floor", [("vcdb_queries.tsv", (0.9, 0.75)),
                                            ("vcdb_queries_validation.tsv", (0.85, 0.7))])
def test_hybrid_beats_keyword_and_semantic_on_labelled_vcdb_queries(vcdb_db, model, queries, floor):
    """Paraphrased and named queries; the validation file was written blind to the engine."""
    pairs = read_labelled(Path(__file__).parent / "data" / queries)
    searcher = Searcher(vcdb_db, model=model)
    scores = {mode: evaluate(searcher, pairs, mode) for mode in ("keyword", "semantic", "hybrid")}
    print(queries, scores)
    hybrid = scores["hybrid"]
    for other in ("keyword", "semantic"):
        assert hybrid["recall"] >= scores[other]["recall"]
        assert hybrid["mrr"] >= scores[other]["mrr"]
    assert hybrid["recall"] >= floor[0] and hybrid["mrr"] >= floor[1]


def test_reembedding_the_vcdb_corpus_with_nothing_new_is_instant(vcdb_db):
    result = cli(vcdb_db)("embed")
    assert "Nothing new to embed" in result.output
