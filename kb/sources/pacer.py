"""Federal court dockets: a PACER (CM/ECF) docket report page, and the steps of a case in its entries.

    docket = parse_docket(html)              # case fields, parties with counts, entries
    record = docket_record(docket, url, source="pacer", external_id=...)
    event_of("JUDGMENT as to John Doe (1) ...")  -> "judgment"

The `pacer` source reads docket reports saved from PACER into a folder
(`path`; off by default): PACER charges per page, so its pages come from the
users who bought them. Pure functions: HTML in, dicts and records out. The page layout is the one
juriscraper's DocketReport reads (the header <h3>, two header cells of
"Label: value" lines, party tables, the "Docket Text" table); the saved pages
and juriscraper's expected parses in ../shared/data/court/juriscraper test it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Iterable

from bs4 import BeautifulSoup

from ..records import CaseRecord, DocumentRecord

from .sdk import ItemError, Output, Scraper

MAX_FILE_BYTES = 20 * 1024 * 1024

# The steps of a case that an entry records, tried in order on the start of its text.
# A notice, motion or filing *about* a step (NOTICE OF HEARING re: Sentencing) is not the step.
_NOT_A_STEP = re.compile(r"^\W*(?:notice|motion|response|reply|memorandum|certificate|affidavit|"
                         r"stipulation|proposed|letter|exhibit|sealed|\*+|terminate deadlines|"
                         r"(?:docket text )?order (?:granting|denying|re|to continue|excluding|setting))", re.I)
_MINUTE = re.compile(r"^minute entry for proceedings held before [^:.]*[:.]\s*", re.I)
EVENTS = [
    ("indictment", re.compile(r"^(?:superseding )?(?:indictment|information) (?:as to|filed)|^indictment\b", re.I)),
    ("complaint", re.compile(r"^(?:criminal )?complaint\b", re.I)),
    ("arrest", re.compile(r"^arrest (?:warrant returned executed|of )|^rule 5\(c\)\(3\) documents", re.I)),
    ("plea", re.compile(r"^(?:plea agreement|change of plea|guilty plea)|\bplea of guilty\b|"
                        r"\bpleaded guilty\b|\bpled guilty\b", re.I)),
    ("arraignment", re.compile(r"\barraignment as to\b|initial appearance,\s*arraignment", re.I)),
    ("verdict", re.compile(r"^(?:jury )?verdict\b|\bjury verdict\b", re.I)),
    ("sentencing", re.compile(r"^sentencing\b|\bsentencing (?:held|hearing held)\b", re.I)),
    ("judgment", re.compile(r"^(?:amended )?judgment\b", re.I)),
    ("dismissal", re.compile(r"^(?:order of )?dismissal\b|^order dismissing\b|^notice of (?:voluntary )?dismissal", re.I)),
    ("settlement", re.compile(r"\bsettlement (?:agreement|conference held|reached)\b", re.I)),
]
_PRINCIPAL = re.compile(r"plaintiff|defendant|petitioner|respondent|appellant|appellee|claimant|debtor", re.I)
_COUNTS_HEADERS = ("pending counts", "terminated counts", "complaints")
_CASE_TYPE = re.compile(r"\d+:\d{2}-(cr|mj|po|cv|mc)-", re.I)
_JUDGE = re.compile(r"^(?:(?:chief|senior|district|magistrate|bankruptcy)\s+)*judge\s+", re.I)
_NUMBER = re.compile(r"#:\s*(\d+:\d{2}-[a-z]{2}-\d+)", re.I)


def event_of(text: str) -> str | None:
    """Which step of a case an entry's text records (indictment, plea, judgment...), or None."""
    text = _MINUTE.sub("", " ".join((text or "").split()))
    if _NOT_A_STEP.match(text):
        return None
    head = text[:200]
    for name, pattern in EVENTS:
        if pattern.search(head):
            return name
    return None


def case_type(docket_number: str | None) -> str | None:
    """'criminal' or 'civil' from a federal docket number such as 1:20-cr-00123."""
    match = _CASE_TYPE.search(docket_number or "")
    if not match:
        return None
    return "civil" if match.group(1).lower() in ("cv", "mc") else "criminal"


def parse_docket(html: bytes | str) -> dict:
    """The fields of a PACER district docket report: header, parties (with counts) and entries."""
    soup = BeautifulSoup(html, "lxml")
    for element in soup(["script", "style"]):
        element.decompose()
    h3 = soup.find("h3")
    heading = [line.strip() for line in h3.get_text("\n").split("\n") if line.strip()] if h3 else []
    number = _NUMBER.search(" ".join(heading))
    docket = {
        "court": heading[1] if len(heading) > 1 else None,
        "docket_number": number.group(1) if number else None,
        "case_name": None, "assigned_to": None, "cause": None, "nature_of_suit": None,
        "date_filed": None, "date_terminated": None, "demand": None, "jurisdiction": None,
    }
    header = h3.find_next("table") if h3 else None
    for cell in header.find_all("td") if header else []:
        lines = [" ".join(x.split()) for x in cell.get_text("\n").split("\n") if x.strip()]
        for line in lines:
            label, _, value = line.partition(":")
            key = label.strip().lower().replace(" ", "_")
            if key == "case_title":
                docket["case_name"] = value.strip()
            elif key in ("date_filed", "date_terminated"):
                docket[key] = _date(value)
            elif key in ("assigned_to", "cause", "nature_of_suit", "demand", "jurisdiction") and value.strip():
                docket[key] = value.strip()
        if lines and not docket["case_name"] and ":" not in lines[0]:
            docket["case_name"] = lines[0]
    if not docket["assigned_to"]:  # criminal dockets put it in the next table
        found = re.search(r"Assigned to:\s*([^\n]+)", soup.get_text("\n"))
        docket["assigned_to"] = found.group(1).strip() if found else None
    docket["assigned_to"] = _JUDGE.sub("", docket["assigned_to"] or "").strip() or None
    docket["parties"] = _parties(soup)
    docket["entries"] = _entries(soup)
    return docket


def _parties(soup) -> list[dict]:
    """Each party: its role (Defendant, Plaintiff...), name, and a defendant's counts with dispositions."""
    parties: list[dict] = []
    section = None
    for row in soup.find_all("tr"):
        cells = row.find_all("td", recursive=False)
        if not cells:
            continue
        underlined = cells[0].find("u")
        if underlined:
            title = " ".join(underlined.get_text(" ").split())
            lowered = title.lower()
            if lowered in _COUNTS_HEADERS:
                section = lowered
            elif lowered.startswith(("highest offense level", "disposition")):
                section = "skip"
            else:
                section = "party"
                parties.append({"type": re.sub(r"\s*\(\d+\)$", "", title), "name": None, "counts": []})
            continue
        if section == "party" and parties and parties[-1]["name"] is None and cells[0].find("b"):
            parties[-1]["name"] = " ".join(cells[0].find("b").get_text(" ").split())
        elif section in ("pending counts", "terminated counts") and parties and len(cells) >= 3:
            name = " ".join(cells[0].get_text(" ").split())
            if name and name.lower() != "none":
                parties[-1]["counts"].append({"name": name, "status": section.split()[0],
                                              "disposition": " ".join(cells[2].get_text(" ").split()) or None})
    return [p for p in parties if p["name"]]


def _entries(soup) -> list[dict]:
    """The rows of the 'Docket Text' table: date filed, number, text, and the step it records."""
    table = None
    for candidate in soup.find_all("table"):
        first = candidate.find("tr")
        if first and "docket text" in first.get_text(" ").lower():
            table = candidate
    entries = []
    for row in table.find_all("tr")[1:] if table else []:
        cells = row.find_all("td", recursive=False)
        if len(cells) < 3:
            continue
        filed = _date(cells[0].get_text())
        number = " ".join(cells[1].get_text(" ").split()).strip("\xa0 ") or None
        text = " ".join(cells[-1].get_text(" ").split())
        if filed and text:
            entries.append({"date_filed": filed, "number": number, "description": text, "event": event_of(text)})
    return entries


def _date(text: str) -> str | None:
    """YYYY-MM-DD from a PACER MM/DD/YYYY date."""
    match = re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", text or "")
    if not match:
        return None
    month, day, year = (int(x) for x in match.groups())
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def events(entries: list[dict]) -> list[dict]:
    """The dated steps of a case (first of each kind per date), from entries with an `event`."""
    seen, steps = set(), []
    for entry in entries:
        key = (entry.get("event"), entry.get("date_filed"))
        if entry.get("event") and key not in seen:
            seen.add(key)
            steps.append({"event": entry["event"], "date": entry["date_filed"], "entry": entry.get("number"),
                          "text": entry["description"][:500]})
    return steps


def docket_text(docket: dict) -> str:
    """The readable text of a docket: counts with dispositions, then one line per entry."""
    lines = []
    for party in docket.get("parties", []):
        for count in party.get("counts", []):
            lines.append(f"{party['type']} {party['name']}: count {count['name']}"
                         + (f" - {count['disposition']}" if count.get("disposition") else ""))
    lines += [f"{e['date_filed']} [{e.get('number') or '-'}] {e['description']}" for e in docket.get("entries", [])]
    return "\n".join(lines)


def docket_record(docket: dict, url: str | None, source: str, external_id: str, **provenance) -> DocumentRecord:
    """A docket as a court document with its case and its dated steps (meta['events'])."""
    parties = [p for p in docket.get("parties", []) if p.get("name")]
    principal = [p for p in parties if _PRINCIPAL.search(p["type"])] or parties  # not movants, notice parties
    steps = events(docket.get("entries", []))
    dispositions = [c["disposition"] for p in parties for c in p.get("counts", []) if c.get("disposition")]
    case = CaseRecord(
        court=docket.get("court"), case_number=docket.get("docket_number"),
        case_type=case_type(docket.get("docket_number")), case_name=docket.get("case_name"),
        parties="; ".join(f"{p['name']} ({p['type']})" for p in principal) or None,
        filed=docket.get("date_filed"), terminated=docket.get("date_terminated"),
        status="terminated" if docket.get("date_terminated") else None,
        claims=docket.get("cause") or docket.get("nature_of_suit")
        or "; ".join(dict.fromkeys(c["name"] for p in parties for c in p.get("counts", []))) or None,
        url=url,
    )
    meta = {"type": "docket", "assigned_to": docket.get("assigned_to"), "nature_of_suit": docket.get("nature_of_suit"),
            "cause": docket.get("cause"), "counts": [dict(c, defendant=p["name"]) for p in parties for c in p["counts"]],
            "dispositions": list(dict.fromkeys(dispositions)), "events": steps, "entries": len(docket.get("entries", []))}
    return DocumentRecord(
        source=source, external_id=external_id, kind="court", title=docket.get("case_name"),
        text=docket_text(docket) or docket.get("case_name") or "", url=url, published=docket.get("date_filed"),
        language="en", meta={k: v for k, v in meta.items() if v}, cases=[case], **provenance,
    )


class PacerDocketsScraper(Scraper):
    name = "pacer"
    kind = "court"
    description = "PACER docket reports saved to a local folder (.html)"
    defaults = {"path": "", "enabled": False}

    def start(self) -> Iterable[Output]:
        folder = Path(self.settings["path"]) if self.settings["path"] else None
        if folder is None or not folder.is_dir():
            yield ItemError(str(folder or "pacer"), "folder of saved PACER dockets not found: set `path` "
                                                    "under [sources.pacer] in sources.toml")
            return
        for file in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".html", ".htm") and p.is_file()):
            if file.stat().st_size > MAX_FILE_BYTES:
                yield ItemError(str(file), f"over the {MAX_FILE_BYTES}-byte cap")
                continue
            docket = parse_docket(file.read_bytes())
            if not docket["docket_number"]:
                yield ItemError(str(file), "not a PACER docket report (no 'DOCKET FOR CASE #')")
                continue
            record = docket_record(docket, None, source=self.name,
                                   external_id=f"{docket['court'] or '?'}:{docket['docket_number']}")
            record.meta["file"] = file.name
            yield record
