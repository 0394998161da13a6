"""`kb search` over real databases: fields, modes, filters, Chinese, batch queries, relevance."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb import KB, settings
from kb.storage.db import open_db
from kb.sources import vcdb
from kb.search.evaluate import evaluate, read_labelled
from kb.search.searcher import Searcher
from kb.records import DocumentRecord
from kb.storage.store import save_many
from tests.conftest import cli

FIELDS = {"rank", "score", "document_id", "source", "external_id", "url", "title", "published",
          "kind", "language", "snippet", "incident_id"}
INCIDENT_FIELDS = FIELDS | {"documents", "why", "incident_type", "organisation", "year"}
BYTEDANCE = "bytedance-intern-model-training-sabotage-2024"


def is_bytedance(hit: dict) -> bool:
    """The curated ByteDance entry, its Chinese twin, or the Chinese seed article about the case."""
    return hit["external_id"].startswith(BYTEDANCE) or hit["source"] == "安全内参"


def test_search_returns_incidents_with_their_documents_in_every_language(starter_db):
    hits = cli(starter_db).json("search", "intern sabotaged model training jobs", "-k", "5")
    top = hits[0]
    assert INCIDENT_FIELDS <= set(top)
    assert top["title"].startswith("ByteDance") and top["incident_id"] is not None
    assert any(d["external_id"].startswith(BYTEDANCE) for d in top["documents"])
    assert {d["language"] for d in top["documents"]} >= {"en", "zh"}
    assert all(d["incident_id"] == top["incident_id"] for d in top["documents"])
    assert len({h["incident_id"] for h in hits}) == len(hits)  # one hit per incident
    why = top["why"]
    assert {"intern", "model", "training"} <= set(why["terms"]) and why["semantic"] > 0.3 and why["passage"]


def test_plain_output_shows_incidents_documents_and_why(starter_db):
    out = cli(starter_db)("search", "intern sabotaged model training jobs", "-k", "2").output
    assert out.splitlines()[0].startswith("  1. ByteDance")
    assert "why: terms intern, sabotaged" in out and "meaning 0." in out  # the query's own words first
    assert "starter:bytedance-intern-model-training-sabotage-2024#zh" in out


def test_hybrid_finds_the_bytedance_case_from_an_english_paraphrase(starter_db):
    hits = cli(starter_db).json("search", "intern sabotaged model training jobs", "-k", "5", "--by", "document")
    assert FIELDS <= set(hits[0]) and "documents" not in hits[0]
    assert is_bytedance(hits[0])
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert len({h["document_id"] for h in hits}) == len(hits)  # one hit per document
    assert hits[0]["incident_id"] is not None


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_every_mode_answers(starter_db, mode):
    hits = cli(starter_db).json("search", "logic bomb planted by a contractor", "--mode", mode)
    assert hits and "logic bomb" in (hits[0]["title"] + hits[0]["snippet"]).lower()


def test_chinese_words_have_word_statistics_and_exact_matches_rank_first(starter_db):
    """删库 is rare and 员工 common: BM25 over segmented words weighs them so."""
    run = cli(starter_db)
    hits = run.json("search", "删库", "--mode", "keyword", "--by", "document", "-k", "20")
    assert "删库" in hits[0]["title"] + hits[0]["snippet"]
    exact = [h["rank"] for h in hits if "删库" in h["title"] + h["snippet"]]
    assert exact == list(range(1, len(exact) + 1))  # every exact match above every other hit
    both = run.json("search", "删库 员工", "--mode", "keyword", "--by", "document", "-k", "20")
    assert "删库" in both[0]["title"] + both[0]["snippet"]


def test_lexicon_finds_other_wordings_and_the_other_language(starter_db):
    run = cli(starter_db)
    lianjia = "lianjia-finance-system-deletion-2018"
    # 删库 ("wiped the database") finds the Lianjia case that says 删除…数据 and 数据库 in other words.
    zh = run.json("search", "删库", "--mode", "keyword", "--language", "zh", "--by", "document", "-k", "20")
    assert any(h["external_id"] == lianjia + "#zh" for h in zh)
    # An English query finds Chinese documents through the lexicon, in keyword mode alone.
    en = run.json("search", "insider stole trade secrets", "--mode", "keyword", "--language", "zh",
                  "--by", "document")
    assert en and all(h["language"] == "zh" for h in en)
    assert any("商业秘密" in h["why"]["terms"] for h in en)


def test_segmented_word_index_follows_inserts_updates_and_deletes(starter_copy):
    db = open_db(starter_copy)
    save_many(db, [DocumentRecord(source="test", external_id="zh-1", kind="news", language="zh",
                                  title="某公司内鬼窃取芯片设计图", text="一名工程师将芯片设计图拷贝到个人账户。")])

    def found(word):
        return [r[0] for r in db.execute(
            "SELECT d.external_id FROM documents_words JOIN documents d ON d.id = documents_words.rowid "
            "WHERE documents_words MATCH ?", [f'"{word}"'])]

    assert "zh-1" in found("内鬼") and "zh-1" in found("设计图")
    db.execute("UPDATE documents SET title = '某公司员工泄露客户数据' WHERE external_id = 'zh-1'")
    assert "zh-1" not in found("内鬼") and "zh-1" in found("泄露")
    db.execute("DELETE FROM documents WHERE external_id = 'zh-1'")
    assert "zh-1" not in found("泄露")
    db.execute("INSERT INTO documents_words(documents_words, rank) VALUES ('integrity-check', 1)")
    assert db.execute("SELECT count(*) FROM documents_segmented WHERE id NOT IN (SELECT id FROM documents)"
                      ).fetchone()[0] == 0


def test_merged_incidents_resolve_to_their_target(starter_copy):
    db = open_db(starter_copy)
    weimob, lianjia = (db.execute("SELECT id FROM incidents WHERE key = ?", [f"starter:{k}"]).fetchone()[0]
                       for k in ("weimob-production-data-deletion-2020", "lianjia-finance-system-deletion-2018"))
    with db.conn:  # merged, its links not yet moved (as a relink leaves them until it runs)
        db.execute("UPDATE incidents SET merged_into = ? WHERE id = ?", [weimob, lianjia])
    hits = cli(starter_copy).json("search", "删库 链家", "--mode", "keyword")
    assert lianjia not in {h["incident_id"] for h in hits}
    merged = next(h for h in hits if h["incident_id"] == weimob)
    assert {d["external_id"].split("#")[0] for d in merged["documents"]} == {
        "weimob-production-data-deletion-2020", "lianjia-finance-system-deletion-2018"}


def test_bad_dates_get_one_clear_error(starter_db):
    run = cli(starter_db)
    for option, value in (("--since", "garbage"), ("--until", "zzz"), ("--since", "2020-13"),
                          ("--until", "2020-02-30x")):
        result = run("search", "trade secrets", option, value, ok=False)
        assert result.exit_code == 1
        assert result.output.count("Error:") == 1 and value in result.output and "Traceback" not in result.output
    assert run("search", "x", "--since", "2020", "--until", "2019", ok=False).exit_code == 1


def test_hybrid_answers_from_keywords_when_the_vector_index_is_missing(starter_copy):
    settings.paths(starter_copy).index.unlink()
    result = cli(starter_copy)("search", "logic bomb planted by a contractor", "--json")
    assert "Warning: no vector index" in result.stderr
    hits = json.loads(result.stdout)
    assert hits and "logic bomb" in (hits[0]["title"] + hits[0]["snippet"]).lower()
    assert hits[0]["why"]["semantic"] is None


def test_chinese_keyword_search_finds_the_seed_and_short_terms_work(starter_db):
    run = cli(starter_db)
    hits = run.json("search", "实习生", "--mode", "keyword")
    assert any(d["source"] == "安全内参" for h in hits for d in h["documents"])  # the seed, with its incident
    two_chars = run.json("search", "删库", "--mode", "keyword", "--by", "document")
    assert two_chars and "删库" in two_chars[0]["title"] + two_chars[0]["snippet"]
    assert any("微盟" in h["title"] for h in two_chars)


def test_filters_apply(starter_db):
    run = cli(starter_db)
    news = run.json("search", "字节跳动 实习生", "--kind", "news", "--by", "document")
    assert news and {h["kind"] for h in news} == {"news"}
    zh = run.json("search", "sabotage", "--language", "zh", "-k", "20", "--by", "document")
    assert zh and all(h["external_id"].endswith("#zh") or h["source"] == "安全内参" for h in zh)
    old = run.json("search", "trade secrets", "--until", "2012", "-k", "20")
    assert old and all(d["published"] <= "2012~" for h in old for d in h["documents"])
    recent = run.json("search", "trade secrets", "--since", "2023-01-01", "-k", "20")
    assert recent and all(d["published"] >= "2023-01-01" for h in recent for d in h["documents"])
    assert run.json("search", "trade secrets", "--source", "nowhere") == []


def test_incident_filters_rank_only_the_incidents_that_pass(starter_db):
    run = cli(starter_db)
    first = run.json("search", "trade secrets taken to a competitor", "-k", "1")[0]
    assert first["incident_type"] != "sabotage" or "intern" not in first["title"].lower()
    intern = run.json("search", "trade secrets taken to a competitor", "--role", "intern", "-k", "1")
    assert intern and intern[0]["title"].startswith("ByteDance")  # found, not filtered out of a top 1
    sabotage = run.json("search", "deleted data", "--type", "sabotage", "-k", "20")
    assert len(sabotage) > 3 and {h["incident_type"] for h in sabotage} == {"sabotage"}
    years = run.json("search", "deleted data", "--year", "2018-2020", "-k", "20")
    assert years and all(2018 <= h["year"] <= 2020 for h in years)
    assert {h["year"] for h in run.json("search", "deleted data", "--year", "2021", "-k", "20")} == {2021}
    china = run.json("search", "deleted data", "--country", "cn", "--by", "document", "-k", "20")
    incidents = {h["incident_id"] for h in china}
    assert china and all(KB(starter_db, readonly=True).db.execute(
        "SELECT country FROM incidents WHERE id = ?", [i]).fetchone()[0] == "CN" for i in incidents)
    for option, value in (("--year", "20x"), ("--year", "2020-2015"), ("--type", "burglary"), ("--role", "boss")):
        result = run("search", "deleted data", option, value, ok=False)
        assert result.exit_code == 1 and result.output.count("Error:") == 1 and option in result.output


def test_plain_output_is_a_readable_table(starter_db):
    out = cli(starter_db)("search", "deleted cloud virtual machines", "-k", "3", "--by", "document").output
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
    top = lines[0]["hits"][0]
    assert top["external_id"].startswith(BYTEDANCE) and top["incident_id"] and top["documents"]
    assert INCIDENT_FIELDS <= set(lines[1]["hits"][0])
    assert lines[2]["hits"] == [] and "nothing to search" in lines[2]["error"]
    by_document = cli(starter_db)("search", "--queries", str(queries), "--json", "--by", "document").output
    assert FIELDS <= set(json.loads(by_document.splitlines()[0])["hits"][0])


def test_batched_query_vectors_equal_single_ones(starter_db, model):
    queries = ["intern tampered with training code", "删库", "trade secrets taken to a competitor"]
    batch = model.encode_queries(queries)
    assert batch.shape == (3, model.encode_queries([queries[0]]).shape[1]) and batch.dtype == "float32"
    for row, query in zip(batch, queries):
        assert float(row @ model.encode_queries([query])[0]) > 0.999


@pytest.fixture(scope="session")
def vcdb_db(tmp_path_factory, model, shared) -> Path:
    """Every labelled VCDB record and every fourth other one (~1,100 of 3,951) as distractors,
    embedded with the default model and indexed (built once). The whole VCDB is bench/relevance.py's."""
    labelled = {expected.lower() for name in ("vcdb_queries.tsv", "vcdb_queries_validation.tsv", "vcdb_queries_vague.tsv")
                for _, expected in read_labelled(Path(__file__).parent / "data" / name)}
    path = tmp_path_factory.mktemp("vcdb") / "kb.db"
    kb = KB(path)
    kb.ingest(rec for i, rec in enumerate(vcdb.read_folder(shared / "vcdb" / "json").records)
              if rec.external_id.lower() in labelled or i % 4 == 0)
    kb.embed(encoder=model)
    return path


@pytest.mark.parametrize("queries, floor", [("vcdb_queries.tsv", (0.95, 0.85)),
                                            ("vcdb_queries_validation.tsv", (0.9, 0.75)),
                                            ("vcdb_queries_vague.tsv", (0.9, 0.8))])
def test_hybrid_beats_keyword_and_semantic_on_labelled_vcdb_queries(vcdb_db, model, queries, floor):
    """Paraphrased and named queries, scored by incident and by document; the validation file was
    written blind to the engine; the vague one holds short queries in everyday words (hybrid MRR
    here 0.790 before English queries got their lexicon's other English wordings, 0.824 after;
    on the whole demo database 0.654 -> 0.708)."""
    pairs = read_labelled(Path(__file__).parent / "data" / queries)
    searcher = Searcher(vcdb_db, model=model)
    for by in ("incident", "document"):
        scores = {mode: evaluate(searcher, pairs, mode, by=by) for mode in ("keyword", "semantic", "hybrid")}
        print(queries, by, scores)
        hybrid = scores["hybrid"]
        for other in ("keyword", "semantic"):
            assert hybrid["recall"] >= scores[other]["recall"]
            assert hybrid["mrr"] >= scores[other]["mrr"] - 0.01  # keyword alone is within 0.01 on one file
        assert hybrid["recall"] >= floor[0] and hybrid["mrr"] >= floor[1]


def test_reembedding_the_vcdb_corpus_with_nothing_new_is_instant(vcdb_db):
    result = cli(vcdb_db)("embed")
    assert "Nothing new to embed" in result.output


def test_words_in_most_documents_change_no_keyword_ranking(starter_db):
    """A word in more than half of the documents is left out of BM25 while rarer words are there
    (its IDF is tiny, its documents most of them): the documents keep the rarer word's order, and
    the common word alone still finds documents."""
    from kb.index.words import word_index
    from kb.search import keyword
    from kb.search.filters import Filters
    from kb.search.query import analyse, expand
    from kb.text.lexicon import STOPWORDS

    db = open_db(starter_db, readonly=True)
    index = word_index(db)
    common = next(w for w in index.vocabulary if w.isalpha() and w not in STOPWORDS and index.share(w) > 0.5
                  and expand(w) == ([], []) and analyse(w).terms == [w])
    rare = next(w for w in index.vocabulary if w.isalpha() and w not in STOPWORDS and 0.002 < index.share(w) < 0.1
                and expand(f"{common} {w}") == ([], []) and analyse(w).terms == [w])
    hits = keyword.keyword_hits(db, analyse(f"{common} {rare}"), Filters(), 100)
    assert list(hits) == [d for d, _ in index.top([[rare]], 100)]
    assert keyword.keyword_hits(db, analyse(common), Filters(), 100)


def test_keywords_match_whole_words_in_any_inflection(kb, db_path):
    """`intern` finds interns, not internal audits; the word index follows new documents."""
    from kb import KB as KnowledgeBase

    texts = {"a": ("Intern tampered with model training", "The intern changed the code."),
             "b": ("Internal audit finds losses", "An internal review of the accounts."),
             "c": ("Two interns copied source code", "Both interns were dismissed.")}
    base = KnowledgeBase(db_path)
    save_many(base.db, [DocumentRecord(source="test", external_id=key, kind="news", language="en", title=title,
                                       text=text) for key, (title, text) in texts.items()])
    for query in ("intern", "interns", "interned"):
        found = {h["external_id"] for h in kb.json("search", query, "--mode", "keyword", "--by", "document")}
        assert found == {"a", "c"}, query
    assert {h["external_id"] for h in kb.json("search", "internal", "--mode", "keyword", "--by", "document")} == {"b"}
    save_many(base.db, [DocumentRecord(source="test", external_id="d", kind="news", language="en",
                                       title="Interning at a bank", text="She was interning when she took data.")])
    found = {h["external_id"] for h in kb.json("search", "intern", "--mode", "keyword", "--by", "document")}
    assert found == {"a", "c", "d"}
    words_file = db_path.with_name(db_path.name + ".words")
    words_file.write_bytes(b"not an index")  # a damaged file is rebuilt, not trusted, by a new process
    run = subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(db_path), "search", "interns", "--mode", "keyword",
                          "--by", "document", "--json"], capture_output=True, text=True, check=True)
    assert {h["external_id"] for h in json.loads(run.stdout)} == {"a", "c", "d"} and words_file.stat().st_size > 100


def test_a_document_deleted_by_another_connection_leaves_hybrid_results_at_once(starter_copy, model):
    """The chunk -> document map a searcher keeps is dropped when another connection changes the
    database: the deleted document's vectors, still in the index, find nothing."""
    searcher = Searcher(starter_copy, model=model)
    query = "intern tampered with training code"
    before = searcher.search(query, by="document")
    target = before.hits[0]
    assert target.external_id.startswith(BYTEDANCE)
    db = open_db(starter_copy)
    with db.conn:
        db.execute("DELETE FROM documents WHERE id = ?", [target.document_id])
    after = searcher.search(query, by="document")
    assert after.hits and target.document_id not in {h.document_id for h in after.hits}
    assert searcher.search(query).hits  # by incident too


def test_with_nothing_embedded_hybrid_search_says_keyword_results_only(kb, tmp_path):
    kb("import", "starter")
    result = kb("search", "intern sabotaged model training jobs", "--json")
    assert "Warning: nothing is embedded yet: keyword results only" in result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["title"].startswith("ByteDance") and hits[0]["why"]["semantic"] is None
    queries = tmp_path / "queries.txt"
    queries.write_text("intern sabotaged model training jobs\n", encoding="utf-8")
    line = json.loads(kb("search", "--queries", str(queries), "--json").stdout)
    assert line["embedding"]["embedded"] == 0 and line["embedding"]["running"] is False
    assert "embedding" not in json.loads(kb("search", "--queries", str(queries), "--json", "--mode", "keyword").stdout)


def test_search_says_how_much_is_embedded_while_an_embedding_run_is_on(starter_copy, tmp_path):
    article = tmp_path / "forklifts.md"
    article.write_text("# Quartermaster clerk rerouted warehouse forklifts\n\nA clerk rerouted forklifts "
                       "to a private depot for two years.\n", encoding="utf-8")
    run = cli(starter_copy)
    run("add", str(article))
    queries = tmp_path / "queries.txt"
    queries.write_text("forklifts\n", encoding="utf-8")
    line = lambda: json.loads(run("search", "--queries", str(queries), "--json").stdout)  # noqa: E731
    waiting = line()["embedding"]
    assert waiting["unchunked_documents"] == 1 and 0 < waiting["embedded"] == waiting["passages"]
    assert not waiting["running"]
    from kb.storage import files

    with files.exclusive(settings.paths(starter_copy).index_lock):  # as `kb embed` holds it
        result = run("search", "forklifts")
        assert f"Warning: embedding {waiting['embedded']:,} of {waiting['passages']:,} passages" in result.stderr
        assert line()["embedding"]["running"]
    run("embed")
    assert "embedding" not in line() and "Warning" not in run("search", "forklifts").stderr
