"""Amounts with their kind: what a document's text says each amount is, and which one an incident's
impact or a case's damages stands for. Two kinds are never added together.

    rows = extracted(money_mentions, legal_facts)   # [{document_id, kind, amount, currency, text}]
    impact(rows) -> (amount, currency, kind) | None
"""

from __future__ import annotations

import re

# The kind an impact stands for, best first: a reported loss, a loss a court established
# (restitution, damages awarded), then a loss only alleged. Claims, fines and settlements are
# not losses and never become the impact.
IMPACT_KINDS = ("loss_reported", "restitution", "awarded", "loss_alleged")
DAMAGES_KINDS = ("awarded", "settlement", "claimed")  # what a case's damages_amount stands for
_SKIP = {"hypothetical", "rumour", "denied"}  # "could face a fine of", "reports of losses were exaggerated"


def extracted(money: list[dict], legal: list[dict]) -> list[dict]:
    """Amount rows from a document's money mentions (kb.storage.entities.money_mentions) and legal
    facts: the legal fact's kind wins where both name the same amount in one document."""
    out: dict[tuple, dict] = {}
    for f in legal:
        kind = _legal_kind(f)
        if kind and f.get("amount"):
            out[(f["document_id"], float(f["amount"]), f.get("currency"))] = _row(f["document_id"], kind, f["amount"],
                                                                                f.get("currency"), f["sentence"])
    for m in money:
        kind = _money_kind(m)
        amount, _, currency = (m["name"] or "").partition(" ")
        key = (m["document_id"], float(amount), currency or None)
        if kind and key not in out:
            out[key] = _row(m["document_id"], kind, float(amount), currency or None, m["sentence"])
    return list(out.values())


def impact(rows: list[dict]) -> tuple[float, str | None, str] | None:
    """The incident's impact: the largest amount of the first kind of IMPACT_KINDS present."""
    return _largest(rows, IMPACT_KINDS)


def damages(rows: list[dict]) -> tuple[float, str | None, str] | None:
    """A case's damages: the largest amount of the first kind of DAMAGES_KINDS present."""
    return _largest(rows, DAMAGES_KINDS)


def _largest(rows: list[dict], kinds: tuple[str, ...]) -> tuple[float, str | None, str] | None:
    for kind in kinds:
        found = [r for r in rows if r["kind"] == kind]
        if found:
            best = max(found, key=lambda r: r["amount"])
            return best["amount"], best["currency"], kind
    return None


def _legal_kind(f: dict) -> str | None:
    if f["kind"] == "claim":
        return {"claimed": "claimed", "awarded": "awarded"}.get(f["status"])
    if f["kind"] == "settlement":
        return "settlement"
    if f["kind"] == "sentence" and f["status"] == "imposed":
        return {"restitution": "restitution", "fine": "fine"}.get(f.get("sentence_type"))
    return None


def _money_kind(m: dict) -> str | None:
    if m["status"] in _SKIP or not m["label"]:
        return None
    sentence = m["sentence"] or ""
    if m["label"] in ("claim", "costs"):
        return "awarded" if re.search(r"\bawarded\b|判令|判决.{0,10}赔偿", sentence, re.I) else "claimed"
    if m["label"] == "fine":
        if re.search(r"restitution|退赔|赔偿", sentence, re.I):
            return "restitution"
        return "fine"
    if m["label"] == "loss":
        return "loss_alleged" if m["status"] == "claim" else "loss_reported"
    return None


def _row(doc_id: int, kind: str, amount: float, currency: str | None, text: str | None) -> dict:
    return {"document_id": doc_id, "kind": kind, "amount": float(amount), "currency": currency, "text": text}
