"""What is derived from an incident's documents, cases and facts, recomputed whenever they change
(import, update, merge, split, link, edit): amounts read from each document's text, the legal
status of each case and of the incident, the impact and damages (one kind of amount each), the
scope, and the title of dataset incidents (which states their legal status).

    step(db, doc_ids)          # the pipeline step, after legal facts and linking
    refresh(db, incident_ids)  # after a manual merge, split, link or edit
    fill_missing(db)           # `kb init` after an upgrade: every incident, when some has no scope
"""

from __future__ import annotations

import json

import sqlite_utils

from ..storage import amounts as stored_amounts, entities, legal_facts
from ..storage.merged import final_incidents
from ..storage.sql import rows, transaction
from ..storage.store import incidents_of
from . import amounts, legal_status, scope

_READ = 3000  # characters of each document the scope rules read beyond the incident's summary


def step(db: sqlite_utils.Database, doc_ids: list[int]) -> dict[str, int]:
    """The pipeline step: the documents' amounts, then everything derived for their incidents."""
    doc_ids = sorted(set(doc_ids))
    read_amounts(db, doc_ids)
    targets = sorted(set(final_incidents(db, incidents_of(db, doc_ids)).values()))
    return {"incidents": refresh(db, targets)}


def read_amounts(db: sqlite_utils.Database, doc_ids: list[int]) -> None:
    """Replace the amounts read from these documents' texts (not those their records state)."""
    own = stored_amounts.stated(db, doc_ids)
    todo = [d for d in doc_ids if d not in own]
    found = amounts.extracted(entities.money_mentions(db, todo), legal_facts.of_documents(db, todo))
    stored_amounts.replace(db, doc_ids, found, "extracted")


def fill_missing(db: sqlite_utils.Database) -> int:
    """After an upgrade: derive everything when some live incident has no scope yet (0: none had)."""
    if db.execute("SELECT 1 FROM incidents WHERE scope IS NULL AND merged_into IS NULL LIMIT 1").fetchone() is None:
        return 0
    with transaction(db):
        return refresh_all(db)


def refresh_all(db: sqlite_utils.Database) -> int:
    """Amounts of every document and everything derived for every live incident."""
    read_amounts(db, [r[0] for r in db.execute("SELECT id FROM documents")])
    return refresh(db, [r[0] for r in db.execute("SELECT id FROM incidents WHERE merged_into IS NULL")])


def refresh(db: sqlite_utils.Database, incident_ids: list[int]) -> int:
    """Recompute cases' status and damages, and the incidents' legal status, impact, scope and
    (dataset incidents) title; incidents merged into one take its scope. Returns how many."""
    for inc_id in incident_ids:
        _refresh_one(db, inc_id)
    return len(incident_ids)


def _refresh_one(db: sqlite_utils.Database, inc_id: int) -> None:
    found = rows(db, "SELECT * FROM incidents WHERE id = ?", [inc_id])
    if not found:
        return
    inc = found[0]
    docs = rows(db, "SELECT d.id, d.source, d.meta, d.title, d.text FROM incident_documents l "
                    "JOIN documents d ON d.id = l.document_id WHERE l.incident_id = ? ORDER BY d.id", [inc_id])
    doc_ids = [d["id"] for d in docs]
    texts = {d["id"]: f"{d['title'] or ''}\n\n{d['text'] or ''}" for d in docs}
    facts = legal_facts.of_documents(db, doc_ids)
    money = stored_amounts.of_documents(db, doc_ids)
    cases = rows(db, "SELECT * FROM cases WHERE incident_id = ? ORDER BY id", [inc_id])
    steps = [legal_status.step_of_fact(f) for f in facts]
    case_steps = []
    for case in cases:
        mine = [s for f, s in zip(facts, steps) if s and (
            (case["case_number"] and f["case_number"] == case["case_number"]) or
            (len(cases) == 1 and not f["case_number"]))]
        best = legal_status.latest(mine + [legal_status.step_of_case(case, texts.get(case["document_id"], ""))])
        case_steps.append(best)
        dmg = amounts.damages([a for a in money if a["document_id"] == case["document_id"]])
        db.execute("UPDATE cases SET legal_status = ?, legal_status_date = ?, legal_status_document = ?, "
                   "legal_status_sentence = ?, damages_amount = ?, damages_currency = ?, damages_kind = ? WHERE id = ?",
                   [best.status if best else None, best.date if best else None,
                    best.document_id if best else None, best.sentence if best else None,
                    *(dmg or (None, None, None)), case["id"]])
    status = legal_status.latest(steps + case_steps) or legal_status.Step("alleged")
    manual = set(json.loads(inc["manual_fields"] or "[]"))
    impact = amounts.impact(money)
    values = {"legal_status": status.status, "legal_status_date": status.date,
              "legal_status_document": status.document_id, "legal_status_sentence": status.sentence}
    if not {"impact_amount", "impact_currency"} & manual:
        values.update(zip(("impact_amount", "impact_currency", "impact_kind"), impact or (None, None, None)))
    veris = next((json.loads(d["meta"]).get("veris") for d in docs if d["source"] == "vcdb" and d["meta"]), None)
    said = " ".join(f"{d['title'] or ''} {(d['text'] or '')[:_READ]}" for d in docs if d["source"] != "vcdb")
    values["scope"], values["scope_reason"] = scope.decide({**inc, **values, "veris": veris, "text": said})
    if inc["key"].startswith("vcdb:") and "title" not in manual:
        values["title"] = dataset_title(inc, status.status)
    sets = ", ".join(f"{k} = :{k}" for k in values)
    db.execute(f"UPDATE incidents SET {sets} WHERE id = :id", {**values, "id": inc_id})
    db.execute("UPDATE incidents SET scope = ?, scope_reason = ? WHERE merged_into = ?",
               [values["scope"], values["scope_reason"], inc_id])


def dataset_title(inc: dict, status: str) -> str:
    """'Org: employee privilege abuse involving medical data (alleged, 2014)': a VERIS coding is what
    was reported, so the title says how far it was proven (an error is only 'reported')."""
    said = "reported" if inc["incident_type"] == "unintentional" else status
    when = f"{said}, {inc['year']}" if inc["year"] else said
    return f"{inc['organisation'] or 'Unnamed organisation'}: {inc['incident_subtype'] or 'incident'} ({when})"
