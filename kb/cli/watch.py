"""The `kb watch` group: saved searches that `kb update` tells what is new (kb.watches)."""

from __future__ import annotations

import click

from ..search import modes
from ..search.filters import BY, Filters
from . import knowledge_base, main
from .output import clean_line, echo_json, format_matches


@main.group()
def watch() -> None:
    """Saved searches (or one incident or case) that each `kb update` checks for what is new."""


@watch.command("add")
@click.argument("name")
@click.argument("query", required=False)
@click.option("--incident", default=None, help="Follow one incident (i12, a key): its new documents and legal steps.")
@click.option("--case", default=None, help="Follow one case (c3 or its case number).")
@click.option("--mode", type=click.Choice(modes.names()), default=modes.DEFAULT, show_default=True)
@click.option("--by", type=click.Choice(BY), default="incident", show_default=True,
              help="One feed entry per incident, or per document.")
@click.option("--kind", default=None, help="Only documents of this kind.")
@click.option("--source", default=None, help="Only documents from this source.")
@click.option("--language", default=None, help="Only documents in this language.")
@click.option("--since", default=None, help="Published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", default=None, help="Published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--floor", type=float, default=None,
              help="Share of the query's words a document must hold (default 0.75; keyword and hybrid).")
@click.option("--min-similarity", type=float, default=None,
              help="Best passage similarity that is a match (default 0.87; semantic and hybrid).")
@click.pass_context
def add(ctx, name, query, incident, case, mode, by, kind, source, language, since, until, floor, min_similarity):
    """Watch QUERY (the filters and modes of `kb search`), or --incident / --case."""
    kb = knowledge_base(ctx)
    saved = kb.watch_add(name, query, incident=incident, case=case, mode=mode, by=by, floor=floor,
                         min_similarity=min_similarity,
                         filters=Filters(kind=kind, source=source, language=language, since=since, until=until))
    click.echo(f"Watching {_what(saved)} as {saved['name']}: `kb update` records what is new from now on.")


def _what(w: dict) -> str:
    if w["query"] is not None:
        filters = " ".join(f"--{k} {v}" for k, v in w["filters"].items())
        return f"{w['query']!r} ({w['mode']}{', ' + filters if filters else ''})"
    return f"incident i{w['incident_id']}" if w["incident_id"] else f"case c{w['case_id']}"


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx, as_json: bool) -> None:
    """Every watch, its matches and its last error."""
    found = knowledge_base(ctx, readonly=True).watches()
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No watches yet: `kb watch add NAME QUERY`.")
    for w in found:
        unread = f", latest {w['latest']}" if w["latest"] else ""
        click.echo(f"{w['name']:<20} {_what(w)}  {w['matches']} matches{unread}")
        if w["last_error"]:
            click.echo(f"{'':<20} ! {clean_line(w['last_error'])}")


@watch.command("rm")
@click.argument("name")
@click.pass_context
def rm(ctx, name: str) -> None:
    """Delete a watch and its matches."""
    knowledge_base(ctx, create=False).watch_remove(name)
    click.echo(f"Removed watch {name}.")


@watch.command("show")
@click.argument("name")
@click.option("--since", default=None, help="Matches recorded on or after this date, instead of the unread ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx, name: str, since: str | None, as_json: bool) -> None:
    """What the watch matched since you last read it (or since a date), with why each matched."""
    watch_row, found = knowledge_base(ctx, create=False).watch_show(name, since)
    if as_json:
        echo_json({"watch": watch_row, "matches": found})
        return
    click.echo(f"{watch_row['name']}: {_what(watch_row)}")
    if watch_row["last_error"]:
        click.echo(f"! last run failed: {clean_line(watch_row['last_error'])}")
    click.echo(format_matches(found))


@watch.command("notify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def notify(ctx, as_json: bool) -> None:
    """Every watch's new matches since the last call, as a digest on stdout (for cron to mail; sends nothing)."""
    found = knowledge_base(ctx, create=False).watch_notify()
    if as_json:
        echo_json(found)
        return
    click.echo(format_matches(found))
