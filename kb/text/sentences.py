"""The one sentence splitter, for facts (their source sentence) and for passages (chunking).

    sentences("He pleaded guilty. He was sentenced to 5 years.")  -> [(0, 18), (19, 48)]
    Sentences(text).at(30)                                        -> (1, 19, 48)

A sentence ends at a Chinese full stop (。！？；), a line break, or an English
full stop, question or exclamation mark before a capital or a digit that does
not end an abbreviation (U.S., Jr., Calif.). Closing quotes and brackets stay
with the sentence they close.
"""

from __future__ import annotations

import bisect
import re

_ABBREV = re.compile(r"(?:\b(?:U\.S|Mr|Mrs|Ms|Dr|Jr|Sr|No|Nos|Inc|Corp|Co|Ltd|St|Mt|v|vs|Jan|Feb|Mar|Apr|Jun|Jul|"
                     r"Aug|Sep|Sept|Oct|Nov|Dec|Gen|Sen|Rep|Gov|Lt|Sgt|Capt|Col|Ft|Ariz|Calif|Cal|Fla|Ga|Ill|Ind|"
                     r"Kan|Ky|La|Md|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nev|Okla|Ore|Pa|Tenn|Tex|Va|Vt|Wash|Wis|Wyo|"
                     r"Conn|Del|Colo|Ala|Ark|S\.C|N\.C|N\.Y|N\.J|D\.C|Mich|Penn|U\.S\.C|P\.R|Ph\.D|a\.m|p\.m|etc|"
                     r"[A-Z])|§)\.$")
# The stop is matched, not looked behind for, so that the regex engine skips ahead to the
# next stop character instead of trying a look-behind at every position.
_BREAK = re.compile(r"[。！？；\n]+|[.!?][\"'”’)]*[^\S\n]+(?=[\"“(]?[A-Z0-9])")
_ZH_STOPS = "。！？；"
_CLOSING = _ZH_STOPS + "\"'”’)"


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, without the white space around it."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        at, mark = m.start(), m.group(0)
        if mark[0] in ".!?":  # an English stop: the sentence goes on after an abbreviation
            at, mark = at + 1, mark[1:]
            if _ABBREV.search(text[max(0, at - 12):at]):
                continue
        closing = len(mark) - len(mark.lstrip(_CLOSING))  # the stop or the quotes that close it
        _add(spans, text, start, at + closing)
        start = m.end()
    _add(spans, text, start, len(text))
    return spans


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    """The span start..end without its white space at either end, unless it is only white space."""
    piece = text[start:end]
    kept = piece.strip()
    if kept:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(kept)))


class Sentences:
    """The sentences of one text, split once, found by position."""

    def __init__(self, text: str):
        self.text = text
        self.spans = sentences(text)
        self._starts = [start for start, _ in self.spans]

    def at(self, position: int) -> tuple[int, int, int]:
        """(index, start, end) of the sentence holding `position` (the one before it, in a gap
        between sentences); (-1, 0, len(text)) for a text without sentences."""
        i = bisect.bisect_right(self._starts, position) - 1
        if i < 0:
            return (0, *self.spans[0]) if self.spans else (-1, 0, len(self.text))
        return (i, *self.spans[i])
