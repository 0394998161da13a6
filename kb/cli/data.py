"""Commands that put documents in: init, import (starter, vcdb, jsonl), add, alias; and extract,
which shows what the article extractor reads from a page without storing it."""

from __future__ import annotations

import json
import sys

import click

from ..errors import KBError
from . import knowledge_base, main
from .output import report, report_links

MAX_PAGE_BYTES = 50 * 1024 * 1024  # a saved page read by `kb extract`


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database (or bring its schema up to date)."""
    kb = knowledge_base(ctx)
    click.echo(f"Database ready at {kb.path} (schema {kb.init()})")


@main.group(name="import")
def import_() -> None:
    """Import datasets: the bundled starter set, VCDB, a jsonl export."""


@import_.command("vcdb")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.pass_context
def import_vcdb(ctx: click.Context, path: str) -> None:
    """Import a folder of VCDB incidents in VERIS JSON (e.g. data/json/validated)."""
    kb = knowledge_base(ctx).open()
    done, errors = kb.import_source("vcdb", path)
    report("vcdb", done.counts, errors)
    report_links(kb, done.steps)


@import_.command("starter")
@click.pass_context
def import_starter(ctx: click.Context) -> None:
    """Import the curated starter set bundled with kb (verify against its sources)."""
    kb = knowledge_base(ctx).open()
    done, _ = kb.import_source("starter")
    report("starter", done.counts)
    report_links(kb, done.steps)


@import_.command("jsonl")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_jsonl(ctx: click.Context, path: str) -> None:
    """Import what `kb export --format jsonl` wrote (incidents, documents, links, cases)."""
    kb = knowledge_base(ctx).open()
    done = kb.import_export(path)
    report("jsonl", done.counts)
    report_links(kb, done.steps)


@main.command()
@click.argument("items", nargs=-1, required=True)
@click.pass_context
def add(ctx: click.Context, items: tuple[str, ...]) -> None:
    """Add documents from files (HTML, Markdown, text, PDF) or URLs."""
    kb = knowledge_base(ctx).open()
    failed = 0
    added, records, steps = [], [], []
    for item in items:
        try:
            if item.startswith(("http://", "https://")):
                result = kb.add_url(item)
                if not result.documents:
                    click.echo(f"unchanged: {item} (not modified since the last fetch)")
                for status, doc_id in result.documents:
                    click.echo(f"{status}: d{doc_id} {kb.show(f'd{doc_id}')['title']}")
                added += [doc_id for _, doc_id in result.documents]
                steps.append(result.steps)
                continue
            records.append(kb.read_file(item))
        except KBError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed += 1
    if records:
        done = kb.ingest(records)
        for rec, (status, doc_id) in zip(records, done.documents):
            click.echo(f"{status}: d{doc_id} {rec.title}")
        added += [doc_id for _, doc_id in done.documents]
        steps.append(done.steps)
    report_links(kb, *steps, doc_ids=added)
    if failed:
        sys.exit(1)


@main.command("alias")
@click.argument("canonical")
@click.argument("aliases", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(["organisation", "court"]), default="organisation", show_default=True)
@click.pass_context
def alias_cmd(ctx: click.Context, canonical: str, aliases: tuple[str, ...], kind: str) -> None:
    """Teach entity extraction another name, e.g. `kb alias ByteDance 字节 抖音集团` (then `kb incident relink`)."""
    knowledge_base(ctx).alias(kind, canonical, aliases)
    click.echo(f"{kind} {canonical}: {', '.join(aliases)}")


@main.command("extract")
@click.argument("items", nargs=-1, required=True)
@click.option("--url", default=None, help="The address the page(s) came from (for files).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with a `file` key.")
@click.pass_context
def extract_cmd(ctx: click.Context, items: tuple[str, ...], url: str | None, as_json: bool) -> None:
    """Print what the article extractor gets from pages (files, .html.gz, or URLs)."""
    from ..sources.fetch import HTML_TYPES, FetchError
    from ..sources.runner import make_fetcher
    from ..text.article import extract_article
    from ..text.reading import read_bounded

    failed = 0
    with make_fetcher(knowledge_base(ctx), keep_raw=False) as fetcher:
        for item in items:
            try:
                if item.startswith(("http://", "https://")):
                    response = fetcher.get(item, accept=HTML_TYPES)
                    data, page_url, content_type = response.content, response.url, response.content_type
                else:
                    data, page_url, content_type = read_bounded(item, MAX_PAGE_BYTES), url, None
            except (FetchError, KBError) as exc:
                click.echo(f"Error: {exc}", err=True)
                failed += 1
                continue
            article = extract_article(data, url=page_url, content_type=content_type).to_dict()
            if as_json:
                click.echo(json.dumps({"file": item, **article}, ensure_ascii=False))
                continue
            click.echo(f"== {item}")
            for key in ("title", "published", "language", "author"):
                click.echo(f"{key}: {article[key] or ''}")
            click.echo(f"\n{article['text']}\n")
    if failed:
        sys.exit(1)
