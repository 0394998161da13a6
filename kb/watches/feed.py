"""A watch's matches as an Atom 1.0 feed: one entry per matching incident (or document, for a
watch by document) and per legal step, with ids that never change, so a reader shows each once.
Every text goes through the XML writer (escaped); links are the site's own paths."""

from __future__ import annotations

from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:insider-incident-kb,2024:watch/"  # ids that do not change with the site's address


def entries(watch: dict, found: list[dict]) -> list[dict]:
    """Matches grouped into feed entries, newest first: {id, key, title, summary, updated, incident_id, document_id}."""
    out: dict[str, dict] = {}
    for m in found:
        if m["kind"] == "legal_step":
            key = m["item"]
        elif watch["by"] == "incident" and m["incident_id"]:
            key = f"i{m['incident_id']}"
        else:
            key = f"d{m['document_id']}"
        entry = out.setdefault(key, {"key": key, "title": m["title"], "updated": m["at"], "published": m["at"],
                                     "incident_id": m["incident_id"], "document_id": m["document_id"], "why": []})
        entry["updated"] = max(entry["updated"], m["at"])
        why = m["reason"]
        entry["why"].append(f"d{m['document_id']} {m['title'] or ''} ({why['passed']}"
                            + (f": {', '.join(why['terms'][:6])}" if why.get("terms") else "") + ")")
    return sorted(out.values(), key=lambda e: e["updated"], reverse=True)


def atom(watch: dict, found: list[dict], base: str, link_of) -> bytes:
    """The feed document. `base`: the site's address; `link_of(entry)`: the path of its page."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"{TAG}{watch['id']}")
    _text(feed, "title", f"kb watch {watch['name']}: {watch['query'] or _followed(watch)}")
    grouped = entries(watch, found)
    _text(feed, "updated", grouped[0]["updated"] if grouped else watch["created_at"])
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/-/kb-watch/{watch['name']}.atom")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Insider Incident KB")
    for e in grouped:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"{TAG}{watch['id']}/{e['key']}")
        _text(entry, "title", e["title"] or "(untitled)")
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=base + link_of(e))
        _text(entry, "published", e["published"])
        _text(entry, "updated", e["updated"])
        _text(entry, "summary", "; ".join(e["why"])[:2000])
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _followed(watch: dict) -> str:
    return f"incident i{watch['incident_id']}" if watch["incident_id"] else f"case c{watch['case_id']}"


def _text(parent, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = _xml_safe(text)


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold at all (control characters) dropped; the writer escapes the rest."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20 and c not in "\ufffe\uffff")
