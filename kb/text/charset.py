"""Page bytes to text: the charset decided from the bytes as well as the labels.

    decode_html(data, "text/html; charset=utf-8")  -> (text, "gb18030")

Chinese sites often label GBK pages as UTF-8; a label is believed only when
the bytes really decode under it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

MAX_BYTES = 5_000_000
MAX_CHARS = 5_000_000
META_SNIFF_BYTES = 65_536

_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_CHARSET_ALIASES = {  # what pages really mean by these labels (WHATWG)
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode page bytes; returns (text, encoding name).

    Order: byte-order mark; the declared charsets (HTTP header, then <meta>)
    that the bytes really decode under; UTF-8; charset-normalizer's guess;
    finally UTF-8 with replacement characters. A declared legacy charset loses
    to UTF-8 when the bytes are valid multi-byte UTF-8.
    """
    data = data[:MAX_BYTES]
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace"), encoding
    utf8 = _decodes(data, "utf-8")
    multibyte_utf8 = utf8 and not data.isascii()
    for encoding in _declared_charsets(data, content_type):
        if encoding != "utf-8" and multibyte_utf8:
            continue
        if _decodes(data, encoding):
            return data.decode(encoding, errors="replace"), encoding
    if utf8:
        return data.decode("utf-8", errors="replace"), "utf-8"
    guess = _guess_charset(data)
    if guess:
        return data.decode(guess, errors="replace"), guess
    return data.decode("utf-8", errors="replace"), "utf-8"


def _declared_charsets(data: bytes, content_type: str | None) -> list[str]:
    """Known charsets named by the HTTP header, then by <meta> tags, deduplicated."""
    labels = []
    if content_type:
        labels += _HEADER_CHARSET.findall(content_type)
    labels += [m.decode("ascii", "replace") for m in _META_CHARSET.findall(data[:META_SNIFF_BYTES])]
    charsets: list[str] = []
    for label in labels:
        encoding = _normalize_charset(label)
        if encoding and encoding not in charsets:
            charsets.append(encoding)
    return charsets


def _normalize_charset(label: str) -> str | None:
    """Python codec name for a charset label, with the aliases pages mean."""
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return _CHARSET_ALIASES.get(name, name)


def _decodes(data: bytes, encoding: str) -> bool:
    """True if `data` decodes strictly, allowing a sequence cut off at the very end."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        return err.start >= len(data) - 4
    except LookupError:
        return False
    return True


def _guess_charset(data: bytes) -> str | None:
    """charset-normalizer's best guess, or None."""
    try:
        best = from_bytes(data).best()
    except Exception:  # a guess is optional; never fail decoding over it
        return None
    return _normalize_charset(best.encoding) if best else None


def clean_input(html: str | bytes, content_type: str | None) -> str:
    """Decode if needed, cap the size and drop characters lxml refuses."""
    if isinstance(html, bytes):
        html = decode_html(html, content_type)[0]
    html = html[:MAX_CHARS].encode("utf-8", errors="replace").decode("utf-8")
    return _CONTROL_CHARS.sub("", html)
