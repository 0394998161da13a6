"""Commands that read the knowledge base (read-only): stats, show, similar, sources, runs, export."""

from __future__ import annotations

import sys

import click

from . import knowledge_base, main
from .output import echo_json, format_record


@main.command()
@click.option("--scope", type=click.Choice(("in", "out", "unsure", "all")), default="in", show_default=True,
              help="Count incidents of this scope (in the field, out of it, unsure); all: every incident.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx: click.Context, scope: str, as_json: bool) -> None:
    """Counts of documents, incidents (in the field by default), chunks and cases."""
    result = knowledge_base(ctx, readonly=True).stats(scope)
    if as_json:
        echo_json(result)
        return
    for key in ("documents", "incidents", "cases", "chunks", "embedded_chunks"):
        click.echo(f"{key:>16}: {result[key]}" + (f" (scope {result['scope']})" if key == "incidents" else ""))
    for key in ("by_source", "by_kind", "by_language", "incidents_by_scope", "incidents_by_legal_status"):
        click.echo(f"{key:>16}: " + ", ".join(f"{k} {v}" for k, v in result[key].items()))


@main.command()
@click.argument("ident")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, ident: str, as_json: bool) -> None:
    """Show a document or an incident (by id, incident key or external id)."""
    record = knowledge_base(ctx, readonly=True).show(ident)
    if as_json:
        echo_json(record)
        return
    click.echo(format_record(record))


@main.command()
@click.argument("ident")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def similar(ctx: click.Context, ident: str, limit: int, as_json: bool) -> None:
    """Incidents like IDENT (an incident, or a document's incident)."""
    results = knowledge_base(ctx, readonly=True).similar(ident, limit)
    if as_json:
        echo_json(results)
        return
    if not results:
        click.echo("No similar incidents.")
    for r in results:
        shared = ", ".join(f"{k}: {'/'.join(v)}" for k, v in r["shared"].items())
        click.echo(f"i{r['id']:<6} {r['score']:.2f}  {r['year'] or '----'}  {(r['incident_type'] or '-'):<13} "
                   f"{(r['organisation'] or '-')[:28]:<28}  {(r['title'] or '')[:60]}")
        if shared:
            click.echo(f"{'':9}shared {shared[:110]}")


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sources_cmd(ctx: click.Context, as_json: bool) -> None:
    """The sources: kind, enabled, interval, last run and its status, documents stored."""
    rows = knowledge_base(ctx, readonly=True).sources()
    if as_json:
        echo_json(rows)
        return
    click.echo(f"{'source':<14} {'kind':<14} {'enabled':<8} {'every':>6}  {'last run':<26} "
               f"{'status':<12} {'documents':>9}")
    for row in rows:
        click.echo(f"{row['name']:<14} {row['kind']:<14} {'yes' if row['enabled'] else 'no':<8} "
                   f"{row['interval_hours']:>5}h  {row['last_run'] or 'never':<26} "
                   f"{row['last_status'] or '-':<12} {row['documents']:>9}")
        for note in row["notes"]:
            click.echo(f"{'':<14} note: {note}")


@main.command("runs")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def runs_cmd(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Recent scraper and update runs, with counts, duration and errors."""
    history = knowledge_base(ctx, readonly=True).runs(limit)
    if as_json:
        echo_json(history)
        return
    if not history:
        click.echo("No runs yet.")
    for run in history:
        took = f"{run['duration_s']:.1f}s" if run["duration_s"] is not None else "-"
        click.echo(f"#{run['id']:<5} {run['started']}  {run['source']:<14} {run['status']:<11} {took:>8}  "
                   f"seen {run['seen']} new {run['new']} updated {run['updated']} "
                   f"unchanged {run['unchanged']} failed {run['failed']}")
        for error in run["errors"][:5]:
            click.echo(f"        ! {error['url'] or '-'}: {error['reason']}")


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["iides", "jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(), default=None,
              help="File to write; for csv a folder (created if missing) that gets incidents.csv, "
                   "documents.csv and cases.csv. Default: standard output (csv: ./export).")
@click.pass_context
def export_cmd(ctx: click.Context, fmt: str, output: str | None) -> None:
    """Export incidents and documents: IIDES-style JSON, JSON lines, or CSV files."""
    kb = knowledge_base(ctx, readonly=True).open()
    if fmt == "csv":
        for path in kb.export(fmt, output or "export"):
            click.echo(f"wrote {path}", err=True)
        return
    if not output:
        kb.export(fmt, sys.stdout)
        return
    count = kb.export(fmt, output)
    click.echo(f"wrote {count} {'records' if fmt == 'jsonl' else 'bundles'} to {output}", err=True)
