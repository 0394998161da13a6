"""The IIDES export: one CERT IIDES bundle per incident: incident, one insider per person,
organization, job, court-case (with parties and court), charge, sentence (imposed only, from
legal facts), legal-response (the date of each step), impact, response, source objects, and
relationships between them.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import sqlite_utils

from ..extract.names import normalise_case_number
from ..extract.facts import statutes
from ..storage import dump, legal_facts

_NS = uuid.UUID("6f1c2a8e-5b7d-4c1e-9a3f-2d4e6b8a0c11")  # stable ids across exports
_IIDES_TYPE = {"sabotage": ("S", "S1"), "ip_theft": ("E", "E1"), "espionage": ("E", "E2"),
               "fraud": ("F", None), "unintentional": ("U", None)}
_IIDES_EMPLOYMENT = {"Intern": "INT", "Contractor": "CTR", "Regular Employment": "FLT", "Full-time": "FLT",
                     "Part-time": "PRT", "Temporary": "TMP"}


def iides_bundles(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One IIDES bundle per incident (merged incidents are left out)."""
    return [iides_bundle(db, inc) for inc in dump.incidents(db, live_only=True)]


def iides_bundle(db: sqlite_utils.Database, inc: dict[str, Any]) -> dict[str, Any]:
    """The incident, one insider per person, organisation, job, court cases with their charges,
    sentences and legal response, impact, the organisation's response, and the sources."""
    key = inc["key"]
    objects: list[dict[str, Any]] = []
    relations: list[tuple[str, str]] = []

    def add(kind: str, local: str, body: dict[str, Any]) -> str:
        obj_id = f"{kind}--{uuid.uuid5(_NS, f'{key}/{kind}/{local}')}"
        objects.append({"id": obj_id, **{k: v for k, v in body.items() if v not in (None, "", [])}})
        return obj_id

    itype, subtype = _IIDES_TYPE.get(inc["incident_type"] or "", (None, None))
    incident_id = add("incident", "", {
        "incident_type": [itype] if itype else None,
        "incident_subtype": [subtype] if subtype else None,
        "summary": inc["summary"] or inc["title"],
        "brief_summary": inc["title"],
        "comment": "; ".join(f"{k}: {inc[k]}" for k in ("incident_subtype", "date_start", "date_end",
                                                        "impact_description", "outcome", "legal_status",
                                                        "legal_status_date", "scope", "scope_reason") if inc[k]),
    })
    people = _people(inc["insider_name"])
    insider_ids = [add("insider", str(n), {"incident_role": "1" if n == 0 else "2", **person})
                   for n, person in enumerate(people or [{}])]
    relations += [(incident_id, i) for i in insider_ids]
    if inc["organisation"]:
        org_id = add("organization", inc["organisation"], {
            "name": inc["organisation"], "country": inc["country"], "incident_role": "V",
            "industry_sector": inc["sector"]})
        relations.append((incident_id, org_id))
        job_id = add("job", "", {"title": (inc["insider_role"] or "").replace("_", " "),
                                 "employment_type": _IIDES_EMPLOYMENT.get(inc["employment_type"] or "")})
        relations += [(insider_ids[0], job_id), (job_id, org_id)]
    docs = dump.incident_documents(db, inc["id"])
    cases = dump.incident_cases(db, inc["id"])
    facts = legal_facts.of_documents(db, [d["id"] for d in docs])
    names = [" ".join(x for x in (p.get("first_name"), p.get("last_name")) if x) for p in people]
    for case_id, case, case_facts in _court_cases(cases, inc, facts, names, add):
        relations.append((incident_id, case_id))
        body = _legal_response(case, case_facts)
        relations.append((case_id, add("legal-response", str(case["id"]), body)))
        if case["case_type"] != "criminal":
            continue
        for charge in _charges(case, case_facts, inc["country"]):
            relations.append((case_id, add("charge", f"{case['id']}/{charge['title']}/{charge.get('section')}/"
                                                     f"{charge.get('nature_of_offense')}", charge)))
        for sentence in _sentences(case_facts):
            relations.append((case_id, add("sentence", f"{case['id']}/{json.dumps(sentence, sort_keys=True)}",
                                           sentence)))
    for local, impact in _impacts(inc):
        relations.append((incident_id, add("impact", local, impact)))
    response = _response(dump.dismissal_date(db, inc["id"]), inc)
    if response:
        relations.append((incident_id, add("response", "", response)))
    for local, source in _sources(docs):
        relations.append((incident_id, add("source", local, source)))
    return {
        "id": f"bundle--{uuid.uuid5(_NS, key)}",
        "objects": objects,
        "relationships": [{"id": f"relationship--{uuid.uuid5(_NS, a + b)}", "object1": a, "object2": b}
                          for a, b in relations],
    }


_US_STATE_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Columbia": "DC", "Puerto Rico": "PR"}
_SENTENCE_TYPES = {"incarceration": "9", "probation": "13", "supervised_release": "16", "fine": "6",
                   "restitution": "14", "community_service": "2", "home_confinement": "8", "forfeiture": "7",
                   "special_assessment": "1"}
_METRICS = {"hour": "1", "day": "2", "month": "3", "year": "4"}
_USC_SECTIONS = {"computer fraud": "1030", "wire fraud": "1343", "mail fraud": "1341", "bank fraud": "1344",
                 "theft of trade secrets": "1832", "identity theft": "1028A", "health care fraud": "1347",
                 "false statements": "1001"}  # the usual section of each federal offence
_COURT_HOSTS = re.compile(r"courtlistener\.com|casetext\.com|vlex\.com|uscourts\.gov|justia\.com|"
                          r"supremecourt\.uk|court\.gov\.cn|courts\.go\.jp|caselaw\.nationalarchives", re.I)


def _people(name: str | None) -> list[dict[str, Any]]:
    """One IIDES person per insider named ('A; B', 'A and B', 'A、B'); an alias in brackets is kept."""
    out = []
    for part in re.split(r"\s*(?:;|、|&|\band\b)\s*", name or ""):
        alias = re.findall(r"[（(]([^)）]+)[)）]", part)
        part = re.sub(r"\s*[（(][^)）]*[)）]", "", part).strip()
        if not part:
            continue
        words = part.split()
        person = ({"last_name": part} if len(words) == 1 else  # anonymised Chinese names such as 田某某
                  {"first_name": words[0], "last_name": words[-1],
                   "middle_name": " ".join(words[1:-1]) or None})
        out.append({**person, "alias": alias or None})
    return out


def _court_cases(cases, inc, facts, names, add):
    """(object id, case row, its facts) for each stored case; criminal facts whose case number matches
    no stored case, or an incident with none, get a court case of their own."""
    cases = [dict(c) for c in cases]
    criminal = [c for c in cases if c["case_type"] == "criminal"]
    facts_of: dict[int, list] = {c["id"]: [] for c in cases}
    for f in facts:
        if f["kind"] in ("claim", "settlement"):
            target = next((c for c in cases if c["case_type"] == "civil"), None)
        else:
            target = next((c for c in criminal if f["case_number"] and c["case_number"]
                           and normalise_case_number(c["case_number"]) == f["case_number"]),
                          criminal[0] if criminal else None)
        if target is None and f["kind"] == "sentence" and f["status"] == "imposed":
            target = {"id": f"facts/{f['case_number']}", "case_type": "criminal", "case_number": f["case_number"],
                      "court": None, "case_name": None, "parties": None, "status": None, "filed": None,
                      "claims": None}
            cases.append(target)
            criminal.append(target)
            facts_of[target["id"]] = []
        if target is not None:
            facts_of[target["id"]].append(f)
    for case in cases:
        plaintiff, defendant = _parties(case, inc, names)
        court = case["court"] or ""
        district = re.search(r"(?:(?:Northern|Southern|Eastern|Western|Central|Middle) )?District of ([A-Z][a-z]+"
                             r"(?: [A-Z][a-z]+)?)", court)
        case_id = add("court-case", str(case["id"]), {
            "case_number": normalise_case_number(case["case_number"]) if case["case_number"] else None,
            "case_title": case["case_name"],
            "court_country": inc["country"],
            "court_state": _US_STATE_CODES.get(district.group(1)) if district else None,
            "court_district": district.group(0) if district else court or None,
            "court_type": "1" if re.search(r"^U\.S\.|United States|Federal", court) else
                          "3" if re.search(r"Superior|County|State", court) and inc["country"] == "US" else None,
            "case_type": {"civil": "1", "criminal": "2"}.get(case["case_type"] or ""),
            "defendant": defendant, "plaintiff": plaintiff,
            "comment": "; ".join(f"{k}: {case[k]}" for k in ("court", "status", "legal_status", "legal_status_date", "filed", "decided",
                                                            "claims", "damages_kind", "damages_amount",
                                                            "damages_currency") if case.get(k)),
        })
        yield case_id, case, facts_of[case["id"]]


def _parties(case, inc, names) -> tuple[list[str] | None, list[str] | None]:
    """Plaintiffs and defendants: from the case title ('A v. B'), else the prosecuting state against
    the insiders (criminal) or the organisation against them (civil)."""
    title = re.split(r"\s+v(?:s)?\.?\s+", case["case_name"] or "", maxsplit=1)
    if len(title) == 2:
        return [title[0].strip()], [title[1].strip()]
    if case["case_type"] == "criminal":
        return (["United States of America"] if inc["country"] == "US" else None), names or None
    return ([inc["organisation"]] if inc["organisation"] else None), names or None


def _first_date(facts, kind: str, status: str | None = None) -> str | None:
    """The most precise date the documents give for this step (2020-12-09 over 2020-12), earliest first."""
    dates = [f["date"] or (None if f["curated"] else f["published"]) for f in facts
             if f["kind"] == kind and (status is None or f["status"] == status)]
    return min((d for d in dates if d), key=lambda d: (-len(d), d), default=None)


def _legal_response(case, facts) -> dict[str, Any]:
    """The dates of each step of the case, from the facts its documents state."""
    return {
        "insider_arrested": _first_date(facts, "arrest"),
        "insider_charged": _first_date(facts, "charge") or (case["filed"] if case["case_type"] == "criminal" else None),
        "insider_pleads": _first_date(facts, "plea"),
        "insider_judgment": _first_date(facts, "verdict"),
        "insider_sentenced": _first_date(facts, "sentence", "imposed"),
        "insider_settled": _first_date(facts, "settlement"),
        "comment": "; ".join(x for x in (f"{case['case_type']} case" if case["case_type"] else None,
                                         f"filed {case['filed']}" if case["filed"] else None,
                                         f"status: {case['status']}" if case["status"] else None) if x) or None,
    }


def _charges(case, facts, country: str | None) -> list[dict[str, Any]]:
    """Charges from the case's claims (statutes) and from its documents' charge facts, with the plea."""
    plea = next((f["status"] for f in facts if f["kind"] == "plea" and f["status"] != "agreed"), None)
    convicted = any(f["kind"] == "charge" and f["status"] == "convicted" for f in facts) or \
        any(f["kind"] == "verdict" and f["status"] == "convicted" for f in facts)
    found: dict[tuple, dict[str, Any]] = {}
    names = [(e.name, None) for e in statutes(case["claims"] or "")]
    names += [(f["statute"], f["count"]) for f in facts if f["kind"] == "charge"]
    for name, count in names:
        m = re.match(r"(\d+ U\.S\.C\.) § (\S+)", name)
        if m:
            title, section, nature = m.group(1), m.group(2), None
        elif country == "US" and name in _USC_SECTIONS:
            title, section, nature = "18 U.S.C.", _USC_SECTIONS[name], name
        else:
            title, section, nature = name, None, name
        charge = found.setdefault((title, section), {"title": title, "section": section})
        charge["nature_of_offense"] = charge.get("nature_of_offense") or nature
        charge["count"] = charge.get("count") or count
        charge["plea"] = {"guilty": "1", "no_contest": "2", "not_guilty": "3"}.get(plea or "")
        charge["disposition"] = "2" if convicted else None
    return [{k: v for k, v in c.items() if v is not None} for c in found.values()]


def _sentences(facts) -> list[dict[str, Any]]:
    """Imposed sentences only (never maxima or plea terms), with quantity and metric."""
    out: dict[tuple, dict[str, Any]] = {}
    for f in facts:
        if f["kind"] != "sentence" or f["status"] != "imposed" or f["sentence_type"] not in _SENTENCE_TYPES:
            continue
        body: dict[str, Any] = {"sentence_type": _SENTENCE_TYPES[f["sentence_type"]]}
        if f["amount"] is not None and f["currency"] == "USD":
            body.update(quantity=int(round(f["amount"])), metric="5")
        elif f["amount"] is not None:
            body["comment"] = f"{f['amount']:.0f} {f['currency']}"
        elif f["quantity"] is not None and f["unit"] in _METRICS:
            body.update(quantity=f["quantity"], metric=_METRICS[f["unit"]])
        elif f["unit"]:
            body["comment"] = f["unit"]  # life
        months = f["quantity"] * 12 if f["unit"] == "year" and f["quantity"] else None
        key = (body["sentence_type"], months or body.get("quantity"), "3" if months else body.get("metric"),
               body.get("comment"))  # 'two years' and '24 months' are one sentence
        body["comment"] = "; ".join(x for x in (body.get("comment"), f["sentence"][:300]) if x)
        out.setdefault(key, body)
    return list(out.values())


def _impacts(inc) -> list[tuple[str, dict[str, Any]]]:
    """The loss in US dollars (impact_amount: one kind of loss, never a claim, fine or settlement;
    an alleged loss is estimated) and records affected."""
    out = []
    estimated = bool(re.search(r"about|approx|~|estimat|约|逾|超过", inc["impact_description"] or "", re.I))
    if inc["impact_amount"] and inc["impact_currency"] == "USD":
        kind = (inc["impact_kind"] or "loss").replace("_", " ")
        out.append(("dollars", {"high": inc["impact_amount"], "metric": "5",
                                "estimated": estimated or inc["impact_kind"] == "loss_alleged",
                                "comment": "; ".join(x for x in (kind, inc["impact_description"]) if x)}))
    if inc["impact_records"]:
        out.append(("records", {"high": inc["impact_records"], "metric": "14", "estimated": estimated}))
    return out


def _response(dismissal: str | None, inc) -> dict[str, Any] | None:
    """What the organisation did: dismissed the insider (with the date where a source gives it)."""
    text = " ".join(x for x in (inc["outcome"], inc["summary"]) if x)
    said = re.search(r"\b(?:dismissed|fired|terminated|let go|sacked)\b|辞退|开除|解除劳动", text, re.I)
    if not dismissal and not said:
        return None
    return {"behavioral_controls": [["9", dismissal[:10]]] if dismissal else None,
            "comment": f"The organisation dismissed the insider ({said.group(0)})" if said else None}


def _source_type(doc: dict[str, Any], url: str | None, publisher: str | None = None) -> str:
    if re.search(r"justice\.gov|Department of Justice|U\.S\. Attorney", f"{url} {publisher}", re.I) \
            or doc.get("source") == "doj":
        return "2"
    if doc.get("kind") == "court" or doc.get("source") in ("courtlistener", "uk_caselaw") or _COURT_HOSTS.search(url or ""):
        return "1"
    if doc.get("kind") == "dataset":
        return "99"
    return "5"


def _iides_date(value: str | None) -> str | None:
    return f"{value[:10]}T00:00:00Z" if value and re.match(r"\d{4}-\d{2}-\d{2}", value) else None


def _sources(docs) -> list[tuple[str, dict[str, Any]]]:
    """A source per document; a curated entry stands for the sources it cites."""
    out = []
    for doc in docs:
        cited = json.loads(doc["meta"] or "{}").get("sources") if doc["curated"] else None
        if cited:
            for s in cited:
                out.append((s["url"], {
                    "title": s.get("title") or s["url"], "source_type": _source_type({}, s["url"], s.get("publisher")),
                    "file_type": "pdf" if s["url"].lower().endswith(".pdf") else "html",
                    "date": _iides_date(s.get("published")), "public": True, "document": s["url"],
                    "comment": s.get("publisher")}))
            continue
        url = doc["url"] or ""
        out.append((f"{doc['source']}/{doc['external_id']}", {
            "title": doc["title"] or doc["external_id"], "source_type": _source_type(doc, url),
            "file_type": "pdf" if url.lower().endswith(".pdf") else "html" if url.startswith("http") else "txt",
            "date": _iides_date(doc["published"]), "public": True, "document": url or None,
            "comment": "VERIS Community Database record" if doc["kind"] == "dataset" else doc["source"]}))
    return list(dict(out).items())
