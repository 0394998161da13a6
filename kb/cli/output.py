"""How the commands print: one JSON document, or lines a person reads."""

from __future__ import annotations

import json

import click

from ..text.numbers import format_amount

ERRORS_SHOWN = 20  # failures of a run printed (all are kept in run_errors)


def echo_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def report(name: str, counts: dict[str, int], errors: list[tuple[str, str]] = ()) -> None:
    """What an import stored, and the files it skipped with their reasons."""
    click.echo(f"{name}: {counts['new']} new, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged, {len(errors)} failed")
    for where, reason in errors:
        click.echo(f"  skipped {where}: {reason}", err=True)


def report_links(kb, *steps: dict, doc_ids: list[int] = ()) -> None:
    """What linking did (summed over `steps`); with `doc_ids`, the incident each of them is in."""
    linked, created, merged = (sum((s.get("link") or {}).get(key, 0) for s in steps)
                               for key in ("linked", "created", "merged"))
    if linked or created or merged:
        click.echo(f"incidents: {linked} documents joined an incident, {created} new incidents, "
                   f"{merged} incidents merged (same case)")
    for doc_id in doc_ids:
        for inc in kb.show(f"d{doc_id}")["incidents"]:
            click.echo(f"  d{doc_id} -> i{inc['id']} {inc['title']} ({inc['method']}, {inc['confidence']:.2f})")


_warned: set[str] = set()


def warn(warnings: list[str]) -> None:
    """Each warning once per command, on stderr."""
    for warning in warnings:
        if warning not in _warned:
            _warned.add(warning)
            click.echo(f"Warning: {warning}", err=True)


def format_hits(hits: list[dict]) -> str:
    """A readable table of search results (incidents with their documents, or documents)."""
    if not hits:
        return "No results."
    lines = []
    for hit in hits:
        lines.append(f"{hit['rank']:>3}. {hit['title'] or '(untitled)'}")
        if "documents" in hit:
            label = f"i{hit['incident_id']}" if hit["incident_id"] else "not linked to an incident"
            facts = "  ".join(str(hit[f]) for f in ("incident_type", "organisation", "year", "legal_status") if hit.get(f))
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
        for key in ("key", "scope", "scope_reason", "legal_status", "legal_status_date", "organisation", "country",
                    "sector", "insider_role", "incident_type", "incident_subtype", "date_start", "date_end",
                    "impact_amount", "impact_kind", "impact_records", "outcome"):
            value = record.get(key)
            if key == "impact_amount":  # with its currency, as a person reads it (not 8000000.0)
                value = format_amount(value, record.get("impact_currency"))
            if value not in (None, ""):
                lines.append(f"  {key}: {value}")
        if record.get("summary"):
            lines += ["", record["summary"]]
        lines.append("")
        lines.append(f"Documents ({len(record['documents'])}):")
        for doc in record["documents"]:
            lines.append(f"  d{doc['id']} [{doc['source']}] {doc['published'] or ''} {doc['title']}  {doc['url'] or ''}")
        if record["cases"]:
            lines.append(f"Cases ({len(record['cases'])}):")
            for case in record["cases"]:
                lines.append(f"  {case['court']} {case['case_number'] or ''} ({case['case_type'] or '?'}) "
                             f"{case.get('legal_status') or case['status'] or ''} {case.get('legal_status_date') or ''}".rstrip())
        if record.get("amounts"):
            lines.append(f"Amounts ({len(record['amounts'])}):")
            for a in record["amounts"]:
                lines.append(f"  {a['kind']}: {a['amount']:,.0f} {a['currency'] or ''}  ({clean_line(a['text'] or '', 120)})")
    return "\n".join(lines)


def clean_line(text: str, width: int = 160) -> str:
    """Scraped text on one line: whitespace collapsed, control characters (terminal escapes) dropped."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())[:width]


def format_matches(found: list[dict]) -> str:
    """Watch matches, oldest first, each with why it matched."""
    if not found:
        return "No new matches."
    lines = []
    for m in found:
        where = f"i{m['incident_id']}" if m["incident_id"] else "not linked"
        lines.append(f"{m['at']}  {m['watch']}  {where}  d{m['document_id']}  {clean_line(m['title'] or '(untitled)')}")
        why = m["reason"]
        detail = [why["passed"]]
        if why.get("terms"):
            detail.append("terms " + ", ".join(clean_line(t, 40) for t in why["terms"][:8]))
        if why.get("semantic") is not None:
            detail.append(f"meaning {why['semantic']:.2f}")
        lines.append("     why: " + "; ".join(detail))
    return "\n".join(lines)
