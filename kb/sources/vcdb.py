"""VCDB (VERIS Community Database) insider incidents from a local folder of VERIS JSON.

One document per VERIS file (source `vcdb`, external id = `incident_id`),
linked to one incident keyed `vcdb:<incident_id>`. `kb import vcdb PATH` reads
a folder in bulk (`read_folder`); as a source (`kb scrape vcdb`, off by
default: it is a bulk dataset) its setting `path` names the folder (relative
paths are read from the database folder; empty means the shared data folder's
vcdb/json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import settings
from ..records import DocumentRecord, IncidentRecord, check_numbers
from .sdk import ItemError, Output, Scraper

# NAICS two-digit sectors, as VERIS records them in victim.industry.
_NAICS = {
    "11": "Agriculture", "21": "Mining", "22": "Utilities", "23": "Construction",
    "31": "Manufacturing", "32": "Manufacturing", "33": "Manufacturing",
    "42": "Wholesale trade", "44": "Retail", "45": "Retail", "48": "Transportation",
    "49": "Transportation", "51": "Information", "52": "Finance", "53": "Real estate",
    "54": "Professional services", "55": "Management", "56": "Administrative services",
    "61": "Education", "62": "Healthcare", "71": "Entertainment", "72": "Accommodation",
    "81": "Other services", "92": "Public administration",
}


MAX_FILE_BYTES = 10 * 1024 * 1024  # one VERIS incident is a few KB


@dataclass
class VcdbResult:
    """Parsed records plus the files that could not be read, with reasons."""

    records: list[DocumentRecord] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def read_folder(path: str | Path) -> VcdbResult:
    """Parse every *.json under `path`; bad files are reported, not fatal."""
    folder = Path(path)
    result = VcdbResult()
    for file in sorted(folder.rglob("*.json")):
        try:
            if not file.is_file():
                raise OSError("not a file")
            if file.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // 2**20} MB")
            data = json.loads(file.read_text(encoding="utf-8"))
            check_numbers(data)
            result.records.append(to_record(data))
        except OSError as exc:
            result.errors.append((str(file), f"cannot read: {exc.strerror or exc}"))
        except RecursionError:
            result.errors.append((str(file), "bad JSON: nested too deeply"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = f"bad JSON: {exc}" if isinstance(exc, ValueError) else f"missing or malformed field: {exc}"
            result.errors.append((str(file), reason[:200]))
    return result



def to_record(data: dict) -> DocumentRecord:
    """One VERIS incident as a document linked to its incident."""
    incident_id = data["incident_id"]
    if not isinstance(incident_id, str) or not incident_id.strip():
        raise KeyError("incident_id")
    victim = data.get("victim") or {}
    organisation = _text(victim.get("victim_id"))
    countries = [c for c in victim.get("country") or [] if isinstance(c, str) and c and c != "Unknown"]
    timeline = (data.get("timeline") or {}).get("incident") or {}
    year = timeline.get("year")
    if isinstance(year, int) and not 1900 <= year <= 2100:
        raise ValueError(f"incident year {str(year)[:20]} is not a plausible year")
    published = _date(year, timeline.get("month"), timeline.get("day"))
    actor = data.get("actor") or {}
    role, job = _insider(actor)
    actions = _actions(data.get("action") or {})
    data_kinds = [d.get("variety") for d in
                  ((data.get("attribute") or {}).get("confidentiality") or {}).get("data", [])
                  if d.get("variety") not in (None, "Unknown", "Other")]
    motives = [m for m in (actor.get("internal") or {}).get("motive", []) if m not in ("NA", "Unknown")]
    incident_type = _incident_type(data, motives, data_kinds)
    phrase = _describe(job, actions, data_kinds)
    title = f"{organisation or 'Unnamed organisation'}: {phrase}" + (f" ({year})" if year else "")
    summary = (data.get("summary") or "").strip()
    urls = [u.strip() for u in (data.get("reference") or "").replace("\n", ";").split(";")]
    urls = [u for u in urls if u.startswith(("http://", "https://"))]
    records_total = ((data.get("attribute") or {}).get("confidentiality") or {}).get("data_total")
    incident = IncidentRecord(
        key=f"vcdb:{incident_id}",
        title=title,
        summary=summary or None,
        organisation=organisation,
        sector=_NAICS.get(str(victim.get("industry") or "")[:2]),
        country=countries[0] if countries else None,
        insider_role=role,
        employment_type="Regular Employment" if role in ("employee", "former_employee") else None,
        incident_type=incident_type,
        incident_subtype=phrase,
        action="; ".join(f"{cat}: {', '.join(vs)}" if vs else cat for cat, vs in actions),
        motive=", ".join(motives) or None,
        date_start=published,
        year=year if isinstance(year, int) else None,
        impact_records=records_total if isinstance(records_total, int) else None,
    )
    return DocumentRecord(
        source="vcdb",
        external_id=incident_id,
        kind="dataset",
        title=title,
        text=summary or f"{title}.",
        url=urls[0] if urls else None,
        published=published,
        language="en",
        meta={"references": urls, "schema_version": data.get("schema_version"), "veris": _facets(data)},
        incident=incident,
    )


def _facets(data: dict) -> dict:
    """The VERIS codes scope rules read that the incident's fields do not keep: asset varieties,
    attributes, and every actor variety (kb.incidents.scope)."""
    assets = [a.get("variety") for a in (data.get("asset") or {}).get("assets") or []
              if isinstance(a, dict) and isinstance(a.get("variety"), str)]
    actors = [v for body in (data.get("actor") or {}).values() if isinstance(body, dict)
              for v in body.get("variety") or [] if isinstance(v, str)]
    return {"assets": assets, "attributes": sorted(data.get("attribute") or {}), "actors": actors}


def _text(value) -> str | None:
    """A string field, or None when it is missing, empty or not a string."""
    return value.strip() or None if isinstance(value, str) else None


def _date(year, month, day) -> str | None:
    if not isinstance(year, int):
        return None
    if not isinstance(month, int) or not 1 <= month <= 12:
        return f"{year:04d}"
    if not isinstance(day, int) or not 1 <= day <= 31:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _insider(actor: dict) -> tuple[str, str | None]:
    """(insider role in our vocabulary, job title as VERIS names it)."""
    external = (actor.get("external") or {}).get("variety") or []
    if "Former employee" in external:
        return "former_employee", "former employee"
    varieties = [v for v in (actor.get("internal") or {}).get("variety", []) if v not in ("Unknown", "Other")]
    if "internal" in actor:
        return "employee", varieties[0].lower() if varieties else None
    if "partner" in actor:
        return "contractor", "partner"
    return "unknown", None


def _actions(action: dict) -> list[tuple[str, list[str]]]:
    out = []
    for category, body in action.items():
        varieties = [v for v in (body or {}).get("variety", []) if v not in ("Unknown", "Other")]
        out.append((category, varieties))
    return out


def _incident_type(data: dict, motives: list[str], data_kinds: list[str]) -> str:
    action = data.get("action") or {}
    attribute = data.get("attribute") or {}
    if "error" in action and len(action) == 1:
        return "unintentional"
    if "Espionage" in motives:
        return "espionage"
    if set(data_kinds) & {"Secrets", "Source code", "Classified"}:
        return "ip_theft"
    if "availability" in attribute and ("Grudge" in motives or "hacking" in action or "malware" in action):
        return "sabotage"
    integrity = (attribute.get("integrity") or {}).get("variety", [])
    if "Fraudulent transaction" in integrity or ("Financial" in motives and "misuse" in action):
        return "fraud"
    if "confidentiality" in attribute and ("misuse" in action or "physical" in action):
        return "data_theft"
    return "misuse"


def _describe(job: str | None, actions: list[tuple[str, list[str]]], data_kinds: list[str]) -> str:
    who = job or "insider"
    what = ", ".join(v.lower() for _, vs in actions for v in vs) or ", ".join(c for c, _ in actions) or "incident"
    phrase = f"{who} {what}"
    if data_kinds:
        phrase += f" involving {', '.join(k.lower() for k in dict.fromkeys(data_kinds))} data"
    return phrase


class VcdbScraper(Scraper):
    name = "vcdb"
    kind = "dataset"
    description = "VCDB insider incidents (VERIS JSON, local folder)"
    defaults = {"path": "", "enabled": False, "interval_hours": 24 * 7}

    def start(self) -> Iterable[Output]:
        folder = Path(self.settings["path"]) if self.settings["path"] else settings.shared_data() / "vcdb" / "json"
        if not folder.is_dir():
            yield ItemError(str(folder), "VCDB folder not found: set `path` under [sources.vcdb] in sources.toml")
            return
        result = read_folder(folder)
        yield from result.records
        for where, reason in result.errors:
            yield ItemError(where, reason)
