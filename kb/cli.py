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
