"""The `kb` command line: a thin click layer over the kb modules."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from . import config, lookup, store
from .db import KBError, open_db


class KBGroup(click.Group):
    """Turns expected problems into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KBError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except sqlite3.DatabaseError as exc:
            click.echo(f"Error: database problem: {exc}", err=True)
            sys.exit(1)


def echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def get_db(ctx: click.Context, create: bool = True):
    return open_db(ctx.obj["db_path"], create=create)


@click.group(cls=KBGroup)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="KB_DB",
              default=str(config.DEFAULT_DB), show_default=True,
              help="SQLite database file (env KB_DB).")
@click.version_option(package_name="insider-incident-kb")
@click.pass_context
def main(ctx: click.Context, db_path: str) -> None:
    """Insider Incident KB: insider incidents in tech from news and court records."""
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = Path(db_path)


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database (or bring its schema up to date)."""
    db = get_db(ctx)
    click.echo(f"Database ready at {ctx.obj['db_path']} (schema {db.execute('PRAGMA user_version').fetchone()[0]})")


@main.group(name="import", cls=KBGroup)
def import_() -> None:
    """Import datasets: the bundled starter set, VCDB."""


def _report(name: str, counts: dict[str, int], errors: list[tuple[str, str]] = ()) -> None:
    click.echo(f"{name}: {counts['new']} new, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged, {len(errors)} failed")
    for where, reason in errors:
        click.echo(f"  skipped {where}: {reason}", err=True)


@import_.command("vcdb")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.pass_context
def import_vcdb(ctx: click.Context, path: str) -> None:
    """Import a folder of VCDB incidents in VERIS JSON (e.g. data/json/validated)."""
    from .importers import vcdb

    db = get_db(ctx)
    result = vcdb.read_folder(path)
    counts = store.save_many(db, result.records)
    _report("vcdb", counts, result.errors)


@import_.command("starter")
@click.pass_context
def import_starter(ctx: click.Context) -> None:
    """Import the curated starter set bundled with kb (verify against its sources)."""
    from .importers import starter

    db = get_db(ctx)
    _report("starter", store.save_many(db, starter.iter_records()))


@main.command()
@click.argument("items", nargs=-1, required=True)
@click.pass_context
def add(ctx: click.Context, items: tuple[str, ...]) -> None:
    """Add documents from files (HTML, Markdown, text, PDF) or URLs."""
    from .importers import files

    db = get_db(ctx)
    failed = 0
    for item in items:
        try:
            rec = files.read_file(item)
        except KBError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        with store.transaction(db):
            status, doc_id = store.save_document(db, rec)
        click.echo(f"{status}: d{doc_id} {rec.title}")
    if failed:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of documents, incidents, chunks and cases."""
    result = lookup.stats(get_db(ctx, create=False))
    if as_json:
        echo_json(result)
        return
    for key in ("documents", "incidents", "cases", "chunks", "embedded_chunks"):
        click.echo(f"{key:>16}: {result[key]}")
    for key in ("by_source", "by_kind", "by_language"):
        click.echo(f"{key:>16}: " + ", ".join(f"{k} {v}" for k, v in result[key].items()))


@main.command()
@click.argument("ident")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, ident: str, as_json: bool) -> None:
    """Show a document or an incident (by id, incident key or external id)."""
    record = lookup.show(get_db(ctx, create=False), ident)
    if as_json:
        echo_json(record)
        return
    click.echo(format_record(record))


@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto picks CUDA (half precision) when a GPU is present.")
@click.option("--model", "model_name", default=None,
              help="sentence-transformers name or local path (default: the one recorded, else all-MiniLM-L6-v2).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
@click.option("--rebuild", is_flag=True, help="Drop all vectors and re-embed everything (needed to change model).")
@click.pass_context
def embed(ctx: click.Context, device: str, model_name: str | None, batch_size: int, rebuild: bool) -> None:
    """Chunk new or changed documents and embed every chunk without a vector."""
    from . import embed as embedding, index as vindex

    db = get_db(ctx)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Embedding chunks", file=sys.stderr)
        bar.update(done - bar.pos)

    report = embedding.embed(db, model_name, device, batch_size, rebuild=rebuild, progress=progress)
    if bar is not None:
        bar.render_finish()
    added, removed = vindex.sync(db, config.index_path(ctx.obj["db_path"]))
    if not report.chunks_embedded and not report.documents_chunked:
        click.echo(f"Nothing new to embed ({report.model}); index +{added} -{removed}.")
        return
    click.echo(f"Embedded {report.chunks_embedded} chunks from {report.documents_chunked} documents "
               f"with {report.model} on {report.device} in {report.seconds:.1f}s "
               f"({report.rate:.1f} chunks/s); index +{added} -{removed}.")


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the index file from the vectors in the database.")
@click.option("--type", "kind", type=click.Choice(["flat", "ivf", "hnsw"]), default=None,
              help="flat: exact (default); ivf or hnsw: approximate, for large corpora. Implies --rebuild.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool, kind: str | None) -> None:
    """Check, or rebuild, the FAISS index beside the database."""
    from . import index as vindex

    db = get_db(ctx, create=False)
    path = config.index_path(ctx.obj["db_path"])
    if rebuild or kind:
        size = vindex.rebuild(db, path, kind)
        click.echo(f"Rebuilt {vindex.index_type(db)} index at {path}: {size} vectors.")
        return
    index = vindex.load(path)
    click.echo(f"{vindex.index_type(db)} index at {path}: {index.ntotal} vectors of dimension {index.d}.")


@main.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Number of results.")
@click.option("--mode", type=click.Choice(["hybrid", "semantic", "keyword"]), default="hybrid", show_default=True)
@click.option("--kind", default=None, help="Only documents of this kind (news, court, press_release, dataset, curated, user).")
@click.option("--source", default=None, help="Only documents from this source (e.g. vcdb, doj).")
@click.option("--language", default=None, help="Only documents in this language (e.g. en, zh).")
@click.option("--since", default=None, help="Published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", default=None, help="Published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--queries", "queries_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Run one query per line of this file (with --json: one JSON object per line).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx: click.Context, query: str | None, k: int, mode: str, kind, source, language,
           since, until, queries_file, as_json: bool) -> None:
    """Search documents by what happened, in your own words."""
    from .search import Filters, get_searcher

    if bool(query) == bool(queries_file):
        raise KBError("give a QUERY or --queries FILE (not both)")
    get_db(ctx, create=False)
    searcher = get_searcher(ctx.obj["db_path"])
    filters = Filters(kind=kind, source=source, language=language, since=since, until=until)
    if queries_file:
        for line in queries_file:
            if not line.strip():
                continue
            try:
                hits, error = searcher.search(line, k=k, mode=mode, filters=filters), None
            except KBError as exc:
                hits, error = [], str(exc)
            if as_json:
                out = {"query": line.strip(), "hits": hits}
                if error:
                    out["error"] = error
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                click.echo(f"## {line.strip()}")
                click.echo(error or format_hits(hits))
        return
    hits = searcher.search(query, k=k, mode=mode, filters=filters)
    if as_json:
        echo_json(hits)
    else:
        click.echo(format_hits(hits))


def format_hits(hits: list[dict]) -> str:
    """A readable table of search results."""
    if not hits:
        return "No results."
    lines = []
    for hit in hits:
        where = f"{hit['source']}:{hit['external_id']}"
        lines.append(f"{hit['rank']:>3}. {hit['title'] or '(untitled)'}")
        lines.append(f"     {hit['published'] or '----'}  {hit['kind']}  {where[:60]}  "
                     f"d{hit['document_id']}" + (f"  i{hit['incident_id']}" if hit["incident_id"] else "")
                     + f"  score {hit['score']:.4f}")
        if hit["snippet"]:
            lines.append("     " + " ".join(hit["snippet"].split())[:200])
    return "\n".join(lines)


def format_record(record: dict) -> str:
    """A readable text view of a document or an incident."""
    lines = []
    if record["type"] == "document":
        lines.append(f"Document d{record['id']}: {record['title']}")
        for key in ("source", "external_id", "kind", "url", "published", "language", "author"):
            if record.get(key):
                lines.append(f"  {key}: {record[key]}")
        for inc in record["incidents"]:
            lines.append(f"  incident: i{inc['id']} {inc['title']} ({inc['method']}, {inc['confidence']:.2f})")
        lines.append("")
        lines.append(record["text"])
    else:
        lines.append(f"Incident i{record['id']}: {record['title']}")
        for key in ("key", "organisation", "country", "sector", "insider_role", "incident_type",
                    "incident_subtype", "date_start", "date_end", "impact_amount", "impact_currency",
                    "impact_records", "outcome"):
            if record.get(key) not in (None, ""):
                lines.append(f"  {key}: {record[key]}")
        if record.get("summary"):
            lines += ["", record["summary"]]
        lines.append("")
        lines.append(f"Documents ({len(record['documents'])}):")
        for doc in record["documents"]:
            lines.append(f"  d{doc['id']} [{doc['source']}] {doc['published'] or ''} {doc['title']}  {doc['url'] or ''}")
        if record["cases"]:
            lines.append(f"Cases ({len(record['cases'])}):")
            for case in record["cases"]:
                lines.append(f"  {case['court']} {case['case_number'] or ''} ({case['case_type'] or '?'}) {case['status'] or ''}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
