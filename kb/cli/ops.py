"""Commands that run the knowledge base: scrape, update (the cron job), cron, serve."""

from __future__ import annotations

import sqlite3
import sys

import click

from ..errors import KBError
from . import knowledge_base, main
from .output import ERRORS_SHOWN, clean_line, report_links


@main.command("scrape")
@click.argument("sources", nargs=-1)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only items published on or after this date (default: a week before each "
                   "source's last clean run).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N items per source.")
@click.pass_context
def scrape_cmd(ctx: click.Context, sources: tuple[str, ...], since, limit: int | None) -> None:
    """Fetch new items from SOURCES (default: every enabled source in sources.toml).

    Exits non-zero when any item failed; failures are also kept in the
    run_errors table and retried by the next run.
    """
    kb = knowledge_base(ctx).open()
    results = kb.scrape(sources, since=since.date() if since else None, limit=limit)
    for result in results:
        c = result.counts
        click.echo(f"{result.source}: {result.status}: {c['seen']} seen, {c['new']} new, "
                   f"{c['updated']} updated, {c['unchanged']} unchanged, {c['failed']} failed")
        for where, reason in result.errors[:ERRORS_SHOWN]:
            click.echo(f"  failed {where or '-'}: {reason}", err=True)
        if len(result.errors) > ERRORS_SHOWN:
            click.echo(f"  ... and {len(result.errors) - ERRORS_SHOWN} more (run_errors, run {result.run_id})",
                       err=True)
    report_links(kb, *(result.steps for result in results))
    if any(r.errors for r in results):
        sys.exit(1)


@main.command(epilog="Exit codes: 0 everything ran; 3 a source failed (the others still ran); "
                     "4 could not start or could not write a file; 75 another kb update is running.")
@click.argument("sources", nargs=-1)
@click.pass_context
def update(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Scrape the sources that are due (or those named), link, embed and index: the cron job."""
    from ..ops import logs
    from ..ops.lock import Locked
    from ..ops.update import EXIT_CANNOT_START, EXIT_LOCKED, summary

    db_path = ctx.find_root().obj["db_path"]
    try:
        log = logs.setup(db_path)
    except OSError as exc:
        click.echo(f"Error: cannot write the log beside {db_path}: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    try:
        report = knowledge_base(ctx).update(sources)
    except Locked as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except (KBError, sqlite3.DatabaseError, OSError) as exc:
        log.error("update could not run: %s", exc)
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    for result in report.results:
        click.echo(f"{result.source}: {result.status}, {summary(result.counts)}")
    for name in report.skipped:
        click.echo(f"{name}: not due")
    click.echo(f"linked {report.linked} documents, embedded {report.embedded} chunks")
    watched = report.watches
    click.echo(f"watches: {len(watched.new)} new matches in {watched.evaluated} changed documents")
    for match in watched.new:
        where = f"i{match['incident_id']}" if match["incident_id"] else match["item"]
        click.echo(f"  {match['watch']}: {where} {clean_line(match['title'] or '')}")
    for name, error in watched.failed.items():
        click.echo(f"  {name}: failed: {clean_line(error)}")
    sys.exit(report.exit_code)


@main.command()
@click.option("--schedule", default=None, help="cron schedule (default: 17 */6 * * *).")
@click.pass_context
def cron(ctx: click.Context, schedule: str | None) -> None:
    """Print a crontab line and a systemd service + timer for `kb update`."""
    from ..ops.schedule import DEFAULT_CRON, crontab_line, systemd_units

    db_path = ctx.find_root().obj["db_path"]
    click.echo("# crontab -e, then add:")
    click.echo(crontab_line(db_path, schedule or DEFAULT_CRON))
    for name, text in systemd_units(db_path).items():
        click.echo(f"\n# ~/.config/systemd/user/{name} (or /etc/systemd/system/{name})")
        click.echo(text.rstrip())
    click.echo("\n# then: systemctl --user daemon-reload && systemctl --user enable --now kb-update.timer")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--public", is_flag=True,
              help="For sharing: no file download or whole-table CSV streaming (the web never writes).")
@click.option("--embed", "embed_too", is_flag=True,
              help="Meanwhile embed what is new (`kb embed` at low priority, stopped with the server): "
                   "search uses the vectors as they land.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, public: bool, embed_too: bool) -> None:
    """Browse, facet and search the KB in Datasette (with kb/web/datasette.yaml)."""
    import asyncio

    import uvicorn

    from ..ops import background
    from ..web.app import make_datasette

    kb = knowledge_base(ctx, create=False).open()
    datasette = make_datasette(kb.path, public=public)
    child = background.start_embedding(kb.path) if embed_too else None
    try:
        click.echo("Loading the search model and index...", err=True)
        asyncio.run(datasette.invoke_startup())
        click.echo(f"Serving {kb.path}{' (public, read-only)' if public else ''}: "
                   f"open http://{host}:{port}/-/kb-search (Ctrl-C to stop)"
                   f"{'; embedding in the background (keyword search until vectors land)' if child else ''}")
        uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")
    finally:
        if child:
            background.stop(child)
