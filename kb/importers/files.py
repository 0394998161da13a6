"""User-supplied documents: HTML, Markdown with front matter, plain text, PDF.

`read_file(path)` turns one file into a `DocumentRecord`. A document that
names its URL is keyed by it, so adding the same article twice, or adding a
page a scraper already stored under the same source, updates one row.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..article_text import extract_article
from ..errors import KBError
from ..legal import recognise_court_record
from ..text import detect_language, gunzip, normalise_date
from ..records import DocumentRecord
from ..store import now_iso

MAX_FILE_BYTES = 50 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def read_file(path: str | Path) -> DocumentRecord:
    """Parse one local file into a document record, by its extension."""
    path = Path(path)
    if not path.is_file():
        raise KBError(f"no such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise KBError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB")
    data = path.read_bytes()
    name = path.name.lower()
    if name.endswith(".gz"):
        try:
            data, name = gunzip(data), name[:-3]
        except KBError as exc:
            raise KBError(f"{path}: {exc}") from None
    suffix = Path(name).suffix
    if suffix in (".html", ".htm", ".xhtml"):
        rec = _from_html(data)
    elif suffix in (".md", ".markdown"):
        rec = _from_markdown(data.decode("utf-8", errors="replace"))
    elif suffix == ".pdf":
        rec = _from_pdf(path, data)
    elif suffix in (".txt", ".text", ""):
        rec = _from_text(data.decode("utf-8", errors="replace"))
    else:
        raise KBError(f"{path}: unsupported file type {suffix!r} (use .html, .md, .txt or .pdf)")
    if not rec.text.strip():
        raise KBError(f"{path}: no text found")
    if not rec.title:
        rec.title = path.stem
    court = recognise_court_record(rec.text) if rec.kind in ("user", "news") else None
    if court:  # a judgment or court announcement saved from China Judgments Online or a court site
        rec.kind = "court"
        rec.meta["court_record"] = court
    rec.raw_sha256 = hashlib.sha256(data).hexdigest()
    rec.fetched_at = now_iso()
    rec.meta.setdefault("file", path.name)
    if not rec.external_id:
        rec.external_id = rec.url or f"sha256:{rec.raw_sha256}"
    return rec


def _record(title, text, url=None, published=None, language=None, author=None,
            source=None, kind=None, meta=None) -> DocumentRecord:
    return DocumentRecord(
        source=source or "user",
        external_id="",
        kind=kind or ("news" if url else "user"),
        title=(title or "").strip() or None,
        text=text.strip(),
        url=url,
        published=normalise_date(published),
        language=language or detect_language(text),
        author=author,
        meta=meta or {},
    )


def _from_html(data: bytes) -> DocumentRecord:
    art = extract_article(data)
    return _record(art.title, art.text, url=art.canonical_url, published=art.published,
                   language=art.language, author=art.author,
                   meta={"site_name": art.site_name} if art.site_name else None)


def _from_markdown(content: str) -> DocumentRecord:
    header: dict[str, str] = {}
    match = _FRONT_MATTER.match(content)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip():
                header[key.strip().lower()] = value.strip().strip("'\"")
        content = content[match.end():]
    text = markdown_to_text(content)
    title = header.get("title")
    if title:  # the body often repeats the title as a heading
        text = "\n".join(line for line in text.splitlines() if line.strip() != title).strip()
    else:
        title = next((l.strip() for l in text.splitlines() if l.strip()), None)
    extra = {k: v for k, v in header.items()
             if k not in ("title", "url", "source", "date", "language", "lang", "author", "kind")}
    return _record(title, text, url=header.get("url"), published=header.get("date"),
                   language=header.get("language") or header.get("lang"),
                   author=header.get("author"), source=header.get("source"),
                   kind=header.get("kind"), meta=extra)


def markdown_to_text(content: str) -> str:
    """Markdown to readable plain text: no images, links as their words, no markup."""
    content = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", content)
    content = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", content)
    content = re.sub(r"(?m)^\s{0,3}#{1,6}\s*", "", content)
    content = re.sub(r"(?m)^\s*[*+-]\s+", "", content)
    content = re.sub(r"(\*\*|__|`)", "", content)
    content = re.sub(r"(?m)^\s*(---+|\*\*\*+)\s*$", "", content)
    return re.sub(r"\n{3,}", "\n\n", content).strip()


def _from_text(content: str) -> DocumentRecord:
    lines = [l.strip() for l in content.splitlines() if l.strip()]
    return _record(lines[0][:300] if lines else None, content)


def _from_pdf(path: Path, data: bytes) -> DocumentRecord:
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise KBError(f"{path}: cannot read PDF: {exc}") from None
    return _record(title or next((l for l in text.splitlines() if l.strip()), None), text)
