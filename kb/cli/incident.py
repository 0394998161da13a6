"""`kb incident`: link documents to incidents again, and correct the machine by hand."""

from __future__ import annotations

import click

from ..errors import InvalidInput
from . import knowledge_base, main
from .output import echo_json


@main.group()
def incident() -> None:
    """Link documents to incidents, and correct the links by hand."""


@incident.command("relink")
@click.pass_context
def incident_relink(ctx: click.Context) -> None:
    """Re-run every extraction step and redo every automatic link (manual and source links stay)."""
    result = knowledge_base(ctx, create=False).relink()
    click.echo(f"relinked {result['documents']} documents in {result['seconds']}s: "
               f"{result['linked']} joined an incident, {result['created']} new incidents, "
               f"{result['merged']} incidents merged, {result['candidates']} candidates to review")


@incident.command("candidates")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def incident_candidates(ctx: click.Context, as_json: bool) -> None:
    """Low-confidence "same case?" pairs left for review (decide with `kb incident link` or `merge`)."""
    results = knowledge_base(ctx, readonly=True).candidates()
    if as_json:
        echo_json(results)
        return
    if not results:
        click.echo("No candidates to review.")
    for r in results:
        click.echo(f"d{r['document_id']:<6} -> i{r['incident_id']:<6} {r['score']:.2f}  "
                   f"{(r['document_title'] or '')[:50]}  |  {(r['incident_title'] or '')[:50]}")
        click.echo(f"{'':9}{'; '.join(r['evidence'])[:110]}")


@incident.command("merge")
@click.argument("target")
@click.argument("others", nargs=-1, required=True)
@click.pass_context
def incident_merge(ctx: click.Context, target: str, others: tuple[str, ...]) -> None:
    """Merge OTHERS into TARGET (their documents and cases move; the decision survives relink)."""
    target_id, other_ids = knowledge_base(ctx, create=False).merge(target, others)
    click.echo(f"merged {', '.join(f'i{o}' for o in other_ids)} into i{target_id}")


@incident.command("split")
@click.argument("ident")
@click.argument("documents", nargs=-1, required=True)
@click.pass_context
def incident_split(ctx: click.Context, ident: str, documents: tuple[str, ...]) -> None:
    """Move DOCUMENTS out of incident IDENT into a new incident."""
    new_id = knowledge_base(ctx, create=False).split(ident, documents)
    click.echo(f"new incident i{new_id} with {', '.join(documents)}")


@incident.command("link")
@click.argument("ident")
@click.argument("documents", nargs=-1, required=True)
@click.pass_context
def incident_link(ctx: click.Context, ident: str, documents: tuple[str, ...]) -> None:
    """Put DOCUMENTS into incident IDENT by hand (they leave machine-made incidents)."""
    incident_id = knowledge_base(ctx, create=False).link(ident, documents)
    click.echo(f"linked {', '.join(documents)} to i{incident_id}")


@incident.command("edit")
@click.argument("ident")
@click.argument("changes", nargs=-1, required=True)
@click.pass_context
def incident_edit(ctx: click.Context, ident: str, changes: tuple[str, ...]) -> None:
    """Set fields, e.g. `kb incident edit i3 organisation=ByteDance insider_role=intern` (empty value clears)."""
    parsed = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep:
            raise InvalidInput(f"{change!r}: write field=value")
        parsed[key.strip()] = value.strip()
    incident_id = knowledge_base(ctx, create=False).edit(ident, parsed)
    click.echo(f"i{incident_id}: set {', '.join(parsed)} (kept on relink and re-import)")
