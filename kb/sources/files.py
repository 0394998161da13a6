"""User-supplied documents: HTML, Markdown with front matter, plain text, PDF.

`read_file(path)` turns one file into a `DocumentRecord`. A document that
names its URL is keyed by it, so adding the same article twice updates one
row. Files are hostile input: sizes are capped (also after decompression),
binary data is refused, and front matter cannot claim the source name of an
importer or scraper (it would overwrite that source's records).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..text.charset import MAX_BYTES, decode_html
from ..errors import InvalidInput, KBError
from ..extract.court_records import recognise_court_record
from ..text.language import detect_language
from ..text.wechat import is_wechat_url, strip_wechat_chrome
from ..text.dates import normalise_date
from ..text.reading import read_bounded, regular_file
from ..records import DocumentRecord
from ..storage.sql import now_iso
from . import registry

MAX_FILE_BYTES = 50 * 1024 * 1024  # a PDF
MAX_PDF_PAGES = 2000  # pypdf reads ~1,600 pages/s here: a bigger PDF is refused, not read for minutes
MAX_TEXT_BYTES = MAX_BYTES  # text, Markdown or HTML (after decompression): what the decoder reads
MAX_NOT_TEXT = 0.01  # share of control or undecodable characters that marks binary data
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd]")
_SUFFIXES = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown", ".markdown": "markdown",
             ".pdf": "pdf", ".txt": "text", ".text": "text", "": "text"}


def read_file(path: str | Path) -> DocumentRecord:
    """Parse one local file into a document record, by its extension."""
    path = regular_file(path)
    name = path.name.lower()
    suffix = Path(name[:-3] if name.endswith(".gz") else name).suffix
    kind = _SUFFIXES.get(suffix)
    if kind is None:
        raise InvalidInput(f"{path}: unsupported file type {suffix!r} (use .html, .md, .txt or .pdf)")
    data = read_bounded(path, MAX_FILE_BYTES if kind == "pdf" else MAX_TEXT_BYTES)
    if kind == "html":
        _as_text(path, data)
        rec = _from_html(data)
    elif kind == "markdown":
        rec = _from_markdown(_as_text(path, data))
    elif kind == "pdf":
        rec = _from_pdf(path, data)
    else:
        rec = _from_text(_as_text(path, data))
    if rec.source in reserved_sources():
        raise InvalidInput(f"{path}: front matter says source {rec.source!r}, which belongs to an importer; "
                      "name the publication instead, or leave `source:` out")
    if is_wechat_url(rec.url):
        rec.text = strip_wechat_chrome(rec.text)
    if not rec.text.strip():
        raise InvalidInput(f"{path}: no text found")
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


def _as_text(path: Path, data: bytes) -> str:
    """The file decoded as text; KBError when the bytes are not text (binary data)."""
    text = decode_html(data)[0]
    if "\x00" in text or len(_NOT_TEXT.findall(text)) > MAX_NOT_TEXT * max(len(text), 1):
        raise InvalidInput(f"{path}: not text (binary data, or an unknown encoding)")
    return text


def reserved_sources() -> set[str]:
    """Source names that sources own: user files may not store under them."""
    return set(registry())


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
    from ..text.article import extract_article  # trafilatura: half a second to import, for HTML only

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
    """Markdown to readable plain text: no images, links as their words, no markup.

    Every pattern stops at the next bracket or line end, so the time is linear in the input.
    """
    content = re.sub(r"!\[[^\[\]]*\]\([^()]*\)", "", content)
    content = re.sub(r"\[([^\[\]]*)\]\([^()]*\)", r"\1", content)
    content = re.sub(r"(?m)^[ \t]{0,3}#{1,6}[ \t]*", "", content)
    content = re.sub(r"(?m)^[ \t]*[*+-][ \t]+", "", content)
    content = re.sub(r"(\*\*|__|`)", "", content)
    content = re.sub(r"(?m)^[ \t]*(---+|\*\*\*+)[ \t]*$", "", content)
    return re.sub(r"\n{3,}", "\n\n", content).strip()


def _from_text(content: str) -> DocumentRecord:
    lines = [l.strip() for l in content.splitlines() if l.strip()]
    return _record(lines[0][:300] if lines else None, content)


def _pages_within(reader, limit: int) -> bool:
    """Whether the page tree holds at most `limit` pages, found by walking it no further than
    that (pypdf would first list every page, and a page tree's /Count may lie)."""
    stack, seen, pages = [reader.trailer["/Root"]["/Pages"]], 0, 0
    while stack:
        node = stack.pop().get_object()
        seen += 1
        if node.get("/Type") == "/Page" or "/Kids" not in node:
            pages += 1
        else:
            stack.extend(node["/Kids"])
        if pages > limit or seen > 4 * limit:
            return False
    return True


def _from_pdf(path: Path, data: bytes) -> DocumentRecord:
    from io import BytesIO

    from pypdf import PdfReader

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput(f"{path}: the PDF is encrypted with a password; save an unlocked copy first")
        if not _pages_within(reader, MAX_PDF_PAGES):
            raise InvalidInput(f"{path}: the PDF has more than {MAX_PDF_PAGES:,} pages: refused "
                               "(split it into smaller files)")
        text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        if len(text) > MAX_TEXT_BYTES:
            raise InvalidInput(f"{path}: the PDF holds more than {MAX_TEXT_BYTES / 1e6:g} MB of text: "
                               "refused (split it into smaller files)")
        title = (reader.metadata.title if reader.metadata else None) or None
    except KBError:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on broken or hostile files
        raise InvalidInput(f"{path}: cannot read PDF: {type(exc).__name__}: {exc}"[:300]) from None
    return _record(title or next((l for l in text.splitlines() if l.strip()), None), text)
