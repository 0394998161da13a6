"""What the incident, document and case pages show, built from the structures `kb show --json`
gives (kb.storage.lookup): the page reads the same data as the JSON, with display fields added.
Pure functions: no SQL, no Datasette."""

from __future__ import annotations

import json
import re
from typing import Any


LANGUAGES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "de": "German", "fr": "French"}
STEP_NAMES = {"arrest": "Arrest", "charge": "Charge", "plea": "Plea", "verdict": "Verdict", "sentence": "Sentence",
              "settlement": "Settlement", "claim": "Claim", "incident": "Incident", "dismissal": "Dismissal",
              "case": "Court case", "reported": "Reported"}
NOT_STATED = {"claim", "claimed", "alleged", "denied", "rumour", "hypothetical", "maximum"}  # shown as such


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (no javascript: links from scraped data)."""
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def money(amount: float | None, currency: str | None) -> str | None:
    """8000000.0, 'CNY' -> 'CNY 8,000,000'; cents only where there are any."""
    if amount is None:
        return None
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text


def language_name(code: str | None) -> str:
    return LANGUAGES.get(code or "", (code or "unknown").upper())


def incident_page(shown: dict[str, Any], merges: dict[str, Any]) -> dict[str, Any]:
    """The incident report: heading, summaries, who/what/when, legal timeline, other statements,
    documents by language, cases, merges."""
    cases = shown.get("cases", [])
    return {
        "kind": "incident", "id": shown["id"],
        "heading": shown.get("title") or shown.get("title_zh") or f"Incident i{shown['id']}",
        "title_zh": shown.get("title_zh") if shown.get("title_zh") != shown.get("title") else None,
        "summary": shown.get("summary"),
        "summary_zh": shown.get("summary_zh") if shown.get("summary_zh") != shown.get("summary") else None,
        "box": _who_what_when(shown, cases),
        "timeline": timeline(shown.get("legal_facts", []), shown.get("facts", [])),
        "statements": _statements(shown.get("facts", [])),
        "languages": _by_language(shown.get("documents", [])),
        "doc_titles": {d["id"]: d.get("title") for d in shown.get("documents", [])},
        "cases": cases,
        "merged_into": merges["into"], "merged_from": merges["from"],
        "merged_by": shown.get("merged_by"), "merge_evidence": _list(shown.get("merge_evidence")),
    }


def _list(value) -> list:
    """A JSON list column as a list (a bare text as a list of one)."""
    if not value:
        return []
    try:
        found = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return [value]
    return found if isinstance(found, list) else [found]


def _who_what_when(inc: dict, cases: list[dict]) -> list[tuple[str, str]]:
    """(label, text) rows of the box; fields added to `kb show` later (scope, legal status, amounts)
    appear where present."""
    insider = ", ".join(v for v in (inc.get("insider_name"), (inc.get("insider_role") or "").replace("_", " "),
                                    inc.get("employment_type")) if v)
    kind = " — ".join(v for v in (inc.get("incident_type"), inc.get("incident_subtype")) if v)
    period = "–".join(dict.fromkeys(v for v in (inc.get("date_start"), inc.get("date_end")) if v))
    status = inc.get("legal_status")
    if status:
        status += f" (since {inc['legal_status_date']})" if inc.get("legal_status_date") else ""
    else:
        status = "; ".join(dict.fromkeys(f"{c['status']} ({c['case_type'] or 'case'})" for c in cases if c.get("status")))
    amounts = "; ".join(dict.fromkeys(_amount_text(a) for a in inc.get("amounts") or [])) or (  # once each
        money(inc.get("impact_amount"), inc.get("impact_currency")))
    rows = [("Organisation", inc.get("organisation")), ("Insider", insider), ("Type", kind),
            ("When", period), ("Reported", inc.get("date_reported")), ("Country", inc.get("country")),
            ("Sector", inc.get("sector")), ("Status", status),
            ("Scope", " — ".join(v for v in (inc.get("scope"), inc.get("scope_reason")) if v)),
            ("Amount", amounts), ("Impact", inc.get("impact_description")), ("Outcome", inc.get("outcome")),
            ("Key", inc.get("key"))]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def _amount_text(amount: dict) -> str:
    text = money(amount.get("amount"), amount.get("currency")) or ""
    kind = amount.get("kind") or amount.get("label")
    return f"{text} ({kind})" if kind else text


def timeline(legal_facts: list[dict], facts: list[dict]) -> list[dict]:
    """Legal steps and dated events in date order (undated last), each once with its first source
    sentence and document, the other documents that state it, and whether it is stated or claimed."""
    steps: dict[tuple, dict] = {}
    for f in legal_facts:
        key = (f["kind"], f.get("status"), f.get("statute"), f.get("count"), f.get("quantity"), f.get("unit"),
               f.get("amount"), f.get("currency"), f.get("date"), f.get("sentence_type"))
        _add_step(steps, key, {"kind": f["kind"], "name": STEP_NAMES.get(f["kind"], f["kind"].title()),
                               "date": f.get("date"), "status": f.get("status"), "detail": _detail(f),
                               "sentence": f["sentence"], "document_id": f["document_id"]})
    for fact in facts:
        if fact["kind"] != "date" or not fact.get("label") or fact.get("status") != "fact":
            continue
        first = fact["mentions"][0]
        _add_step(steps, ("date", fact["label"], fact["name"]),
                  {"kind": fact["label"], "name": STEP_NAMES.get(fact["label"], fact["label"].title()),
                   "date": fact["name"], "status": None, "detail": None, "sentence": first["sentence"],
                   "document_id": first["document_id"]},
                  also=[m["document_id"] for m in fact["mentions"][1:]])
    ordered = sorted(steps.values(), key=lambda s: (s["date"] is None, s["date"] or ""))
    previous = None
    for step in ordered:
        step["not_stated"] = (step["status"] or "") in NOT_STATED
        step["repeat"] = (step["sentence"], step["document_id"]) == previous  # the page quotes it once
        previous = (step["sentence"], step["document_id"])
    return ordered


def _add_step(steps: dict, key: tuple, step: dict, also: list[int] = ()) -> None:
    known = steps.get(key)
    if known is None:
        steps[key] = known = dict(step, also=[])
    elif step["document_id"] != known["document_id"]:
        known["also"].append(step["document_id"])
    known["also"] = sorted({d for d in [*known["also"], *also] if d != known["document_id"]})


def _detail(f: dict) -> str | None:
    """What a legal step says beyond its kind: statute and count, quantity and unit, amount."""
    parts = [f.get("statute"), f"{f['count']} count{'s' if f['count'] != 1 else ''}" if f.get("count") else None,
             " ".join(str(v) for v in (f.get("quantity"), f.get("unit")) if v) or None,
             (f.get("sentence_type") or "").replace("_", " ") or None, money(f.get("amount"), f.get("currency"))]
    return " · ".join(p for p in parts if p) or None


def _statements(facts: list[dict]) -> list[dict]:
    """Facts the documents state as claims, denials, hypotheticals or rumours (never incident facts),
    grouped by the sentence that states them."""
    grouped: dict[tuple, dict] = {}
    for f in facts:
        if f.get("status") in (None, "fact"):
            continue
        first = f["mentions"][0]
        group = grouped.setdefault((first["sentence"], first["document_id"]), {
            "sentence": first["sentence"], "document_id": first["document_id"], "said": []})
        group["said"].append({"status": f["status"], "kind": f["kind"], "name": f["name"], "label": f.get("label")})
    return list(grouped.values())


def _by_language(documents: list[dict]) -> list[dict]:
    """The documents as a citation list, one group per language (English first, then Chinese)."""
    groups: dict[str, list[dict]] = {}
    for doc in documents:
        groups.setdefault(doc.get("language") or "", []).append(dict(doc, url=safe_url(doc.get("url"))))
    order = sorted(groups, key=lambda code: (list(LANGUAGES).index(code) if code in LANGUAGES else 99, code))
    return [{"code": code, "name": language_name(code), "documents": groups[code]} for code in order]


def document_page(shown: dict[str, Any]) -> dict[str, Any]:
    """The document as an article: its fields, paragraphs, incidents with link evidence, legal facts."""
    return {
        "kind": "document", "id": shown["id"],
        "heading": shown.get("title") or f"Document d{shown['id']}",
        "url": safe_url(shown.get("url")), "language_name": language_name(shown.get("language")),
        "paragraphs": paragraphs(shown.get("text") or ""),
        "incidents": shown.get("incidents", []),
        "cases": shown.get("cases", []),
        "legal_facts": timeline(shown.get("legal_facts", []), []),
        "statements": _statements(shown.get("facts", [])),
        "doc": {k: shown.get(k) for k in ("source", "kind", "published", "language", "external_id", "author")},
    }


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: its lines that hold anything, spaces tidied."""
    return [" ".join(line.split()) for line in re.split(r"\n+", text) if line.strip()]


def case_page(case: dict[str, Any]) -> dict[str, Any]:
    """The court case: name, parties, court, number, type, its incident and documents, docket steps."""
    return {
        "kind": "case", "id": case["id"],
        "heading": case.get("case_name") or " ".join(v for v in (case.get("court"), case.get("case_number")) if v)
        or f"Case c{case['id']}",
        "parties": [p.strip() for p in (case.get("parties") or "").split(";") if p.strip()],
        "damages": money(case.get("damages_amount"), case.get("damages_currency")),
        "url": safe_url(case.get("url")),
        "steps": timeline(case.get("steps", []), []),
        "case": case,
    }
