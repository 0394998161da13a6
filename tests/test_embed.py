"""Chunking, embedding and the FAISS index, with the real model and real files."""

import numpy as np
import pytest

from kb import config, embed, vector_index as index
from kb.db import get_setting, open_db
from kb.errors import KBError
from kb.records import DocumentRecord
from kb.store import save_many
from tests.conftest import cli


def test_chunks_fit_the_model_carry_the_title_and_overlap(model):
    sentences = [f"Sentence number {i} says the insider copied {i} files to a USB drive." for i in range(60)]
    chunks = embed.chunk_document(model.tokenizer, "Insider copies files", " ".join(sentences), 128)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.startswith("Insider copies files\n")
        assert len(model.tokenizer(chunk)["input_ids"]) <= 128
    for first, second in zip(chunks, chunks[1:]):
        last_sentence = first.rsplit(". ", 1)[-1].rstrip(".")
        assert last_sentence in second  # overlap carries context across the cut
    body = " ".join(c.split("\n", 1)[1] for c in chunks)
    assert all(s.rstrip(".") in body for s in sentences)  # nothing lost


def test_a_sentence_longer_than_the_budget_is_cut_on_tokens(model):
    chunks = embed.chunk_document(model.tokenizer, None, "word " * 1000, 64)
    assert len(chunks) >= 15
    assert all(len(model.tokenizer(c)["input_ids"]) <= 64 for c in chunks)


def _doc(ext, text, title="T"):
    return DocumentRecord(source="t", external_id=ext, kind="news", title=title, text=text, language="en")


def test_embeds_once_and_only_what_changed(tmp_path, model):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "An engineer deleted the production database."),
                   _doc("b", "A contractor planted a logic bomb in spreadsheets.")])
    first = embed.embed(db, model=model)
    assert first.chunks_embedded == 2
    assert get_setting(db, "embedding_model") == config.DEFAULT_MODEL
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


def test_vectors_are_normalised_and_match_the_model(tmp_path, model):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "Former employee sold customer data.")])
    embed.embed(db, model=model)
    text, blob = db.execute("SELECT text, embedding FROM chunks").fetchone()
    stored = np.frombuffer(blob, dtype=np.float32)
    assert abs(np.linalg.norm(stored) - 1) < 1e-5
    fresh = model.encode([text], normalize_embeddings=True)[0]
    assert float(stored @ fresh) > 0.999


def test_a_different_model_is_refused_without_rebuild(tmp_path, model):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc("a", "x y z")])
    embed.embed(db, model=model)
    with pytest.raises(KBError, match="--rebuild"):
        embed.embed(db, model_name="BAAI/bge-m3")
    run = cli(tmp_path / "kb.db")
    result = run("embed", "--model", "some/other-model", ok=False)
    assert result.exit_code == 1 and "would mix models" in result.output


def test_an_interrupted_embed_resumes_without_duplicates(tmp_path, model, monkeypatch):
    db = open_db(tmp_path / "kb.db")
    save_many(db, [_doc(str(i), f"Incident {i}: an insider leaked record batch {i}.") for i in range(40)])
    monkeypatch.setattr(embed, "WRITE_EVERY", 8)

    def stop_after_first_write(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed.embed(db, model=model, progress=stop_after_first_write)
    assert db.execute("SELECT count(embedding) FROM chunks").fetchone()[0] == 8
    report = embed.embed(db, model=model)
    assert report.chunks_embedded == 32
    assert db.execute("SELECT count(*), count(embedding), count(DISTINCT document_id) FROM chunks").fetchone() == (40, 40, 40)
    path = config.index_path(tmp_path / "kb.db")
    assert index.sync(db, path) == (40, 0)
    assert index.load(path).ntotal == 40


def test_index_follows_deleted_documents_and_survives_corruption(starter_copy):
    db = open_db(starter_copy)
    path = config.index_path(starter_copy)
    total = index.load(path).ntotal
    doc_chunks = db.execute("SELECT count(*) FROM chunks WHERE document_id = 1").fetchone()[0]
    with db.conn:
        db.execute("DELETE FROM documents WHERE id = 1")
    assert index.sync(db, path) == (0, doc_chunks)
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
