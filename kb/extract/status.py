"""Whether a sentence states something as fact, or as a claim, a denial, a hypothetical or a rumour.

    statuses = Statuses(text)
    statuses.of(position)   -> (sentence, "claim") for "The company alleges that ...", (sentence, "fact") ...

Claims, rumours and hypotheticals are never stored as outcomes: extraction keeps
the status and the sentence with each fact, and incident fields use facts only.
"""

from __future__ import annotations

import re

from ..text.scan import Scanner, alternatives
from ..text.sentences import Sentences

STATUSES = ("fact", "claim", "denied", "hypothetical", "rumour")
_STATUS_RULES = [  # strongest first: a rumour the text calls exaggerated is denied
    ("denied", r"严重夸大|夸大|不实|否认|辟谣|并非事实|\bdenie[sd]\b|\bdeny\b|\bexaggerated\b|\buntrue\b|"
               r"\bnot true\b|\bfalse(?:ly)?\b"),
    ("rumour", r"传言|传闻|网传|据传|谣言|\brumou?rs?\b|\bunconfirmed\b|\bspeculat"),
    ("hypothetical", r"如果|假如|倘若|若(?!干)|一旦|可能|或将|\bif\b|\bcould\b|\bwould\b|\bmight\b|"
                     r"\bmay (?:face|be|have|lose|cost|not|result)\b|\bfaces? up to\b|\bpotential(?:ly)?\b|\bpossible\b"),
    ("claim", r"涉嫌|据称|声称|指控|\ballege[sd]?\b|\ballegedly\b|\baccus(?:ed|es|ing)\b|\bpurportedly\b|"
              r"\bsuspected\b"),
]
_STATUS_RE = Scanner(alternatives(_STATUS_RULES, re.I))
_STATUS_RANK = {status: rank for rank, (status, _) in enumerate(_STATUS_RULES)}
PAST_EMPLOYER = Scanner(re.compile(
    r"(?:formerly (?:worked|employed) (?:at|by|for)|previously (?:worked|employed) (?:at|by|for)|used to work (?:at|for)|"
    r"had (?:previously )?worked (?:at|for)|former employer,?|曾在|曾于|曾就职于|曾任职于|此前在|先后在|"
    r"自\d{4}年起，?[他她]?在)(?:[^，。,.;；]{0,12}?(?:和|、|及|and|,)\s*)?\s*$", re.I))


def status_of(sentence: str) -> str:
    """The strongest status a sentence's words give it ('fact' when none)."""
    found = {m.lastgroup for m in _STATUS_RE.finditer(sentence)}  # one pass; the strongest wins
    return min(found, key=_STATUS_RANK.get) if found else "fact"


class Statuses:
    """The sentences of one text and the status of each, computed once."""

    def __init__(self, text: str):
        self.sentences = Sentences(text)
        self._status: dict[int, str] = {}

    def of(self, position: int) -> tuple[int, str, str]:
        """(start of the sentence, the sentence, its status) of the sentence holding `position`."""
        i, start, end = self.sentences.at(position)
        sentence = self.sentences.text[start:end]
        if i not in self._status:
            self._status[i] = status_of(sentence)
        return start, sentence, self._status[i]
