"""Fast `finditer` for the extraction patterns: try a pattern only where a match can start.

Python's regex engine tries a pattern like `\\b(?:fraud|embezzl|...)` at every position of
a text. `Scanner(pattern)` reads the pattern once and collects the literal strings that
every match must begin with ('fraud', 'embezzl', ...); an Aho–Corasick automaton
(pyahocorasick) finds all their occurrences in one pass, and the pattern is tried only
there. `Scanner(p).finditer(text)` yields exactly the matches of `p.finditer(text)`
(same spans, groups and order): lookbehinds and `\\b` still see the text before the
start, and a pattern whose matches can begin anywhere (with a character class such as
`[A-Z]`, or empty) is simply run as before.
"""

from __future__ import annotations

import re
from typing import Iterator

import ahocorasick

from .scripts import HAN_CHAR

try:  # the parser and opcodes of re itself
    from re import _constants as C, _parser
except ImportError:  # Python 3.10
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

_MAX = 8  # characters of prefix worth knowing: longer ones find no fewer places
_SMALL_CLASS = 8  # a class like [（(] or [sz] is expanded into its characters
_ZERO_WIDTH = {C.AT, C.ASSERT, C.ASSERT_NOT}
_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}
# Characters that re.IGNORECASE matches to an ASCII letter but str.lower() does not turn into one.
_ODD_FOLDS = re.compile("[\u0131\u017f]")


def _prefixes(items: list, budget: int = _MAX) -> set[str]:
    """Strings one of which every match of the parsed `items` begins with ('' when nothing is known)."""
    if not items or budget == 0:
        return {""}
    (op, av), rest = items[0], items[1:]
    if op in _ZERO_WIDTH:  # \b, lookarounds: they constrain but consume nothing
        return _prefixes(rest, budget)
    if op is C.LITERAL:
        return {chr(av) + p for p in _prefixes(rest, budget - 1)}
    if op is C.IN and len(av) <= _SMALL_CLASS and all(o is C.LITERAL for o, _ in av):
        after = _prefixes(rest, budget - 1)
        return {chr(c) + p for _, c in av for p in after}
    if op is C.SUBPATTERN:
        if av[1] & re.IGNORECASE:  # (?i:...) inside a case-sensitive pattern: prefixes of any case
            return {""}
        return _prefixes(list(av[-1]) + rest, budget)
    if op is C.BRANCH:
        return set().union(*(_prefixes(list(branch) + rest, budget) for branch in av[1]))
    if op in _REPEATS:
        low, _, item = av
        once = _prefixes(list(item), budget)  # the first repetition, then the prefix stops
        return once if low >= 1 else once | _prefixes(rest, budget)
    return {""}


class Scanner:
    """`pattern.finditer`, trying the pattern only where one of its literal prefixes occurs.

    `needs`, for a pattern whose matches can start anywhere: words one of which every match
    contains (as the pattern spells them; any case for an IGNORECASE pattern). A text without
    any of them is not scanned at all.
    """

    def __init__(self, pattern: re.Pattern, needs: tuple[str, ...] = ()):
        self.pattern = pattern
        self.folded = bool(pattern.flags & re.IGNORECASE)
        self.needs = tuple(w.lower() for w in needs) if self.folded else needs
        prefixes = _prefixes(list(_parser.parse(pattern.pattern, pattern.flags)))
        self.automaton = None
        # lower-casing finds every spelling IGNORECASE allows only for ASCII letters (and uncased characters)
        cased = self.folded and any(not c.isascii() and c.lower() != c.upper() for p in prefixes for c in p)
        if "" not in prefixes and not cased:
            self.automaton = ahocorasick.Automaton()
            for p in prefixes:
                key = p.lower() if self.folded else p
                self.automaton.add_word(key, len(key))
            self.automaton.make_automaton()

    def finditer(self, text: str) -> Iterator[re.Match]:
        """The matches of the pattern in `text`, as `pattern.finditer(text)` finds them."""
        starts = self._starts(text)
        if starts is None:
            yield from self.pattern.finditer(text)
            return
        pos = 0
        for start in starts:
            if start >= pos:
                m = self.pattern.match(text, start)
                if m:
                    yield m
                    pos = m.end() if m.end() > start else start + 1

    def search(self, text: str) -> re.Match | None:
        """The first match, as `pattern.search(text)` finds it."""
        starts = self._starts(text)
        if starts is None:
            return self.pattern.search(text)
        for start in starts:
            m = self.pattern.match(text, start)
            if m:
                return m
        return None

    def _starts(self, text: str) -> list[int] | None:
        """Where a match may start, in order ([] when nowhere); None: anywhere."""
        haystack = _folded(text) if self.folded else text
        if haystack is None:
            return None
        if self.needs and not any(word in haystack for word in self.needs):
            return []
        if self.automaton is None:
            return None
        return sorted([end - length + 1 for end, length in self.automaton.iter(haystack)])  # repeats are harmless


class AnyOf:
    """Which of several scanners may match a text, from one pass over it (the others cannot)."""

    def __init__(self, scanners: list[Scanner]):
        self.scanners = scanners
        # scanners without prefixes, or case-sensitive ones, are always tried (the pass reads lower case)
        self.always = [i for i, s in enumerate(scanners) if s.automaton is None or s.needs or not s.folded]
        self.automaton = ahocorasick.Automaton()
        keys: dict[str, set[int]] = {}
        for i, scanner in enumerate(scanners):
            if i not in self.always:
                for key, _ in scanner.automaton.items():
                    keys.setdefault(key, set()).add(i)
        for key, indices in keys.items():
            self.automaton.add_word(key, indices)
        self.automaton.make_automaton()

    def possible(self, text: str) -> list[int]:
        """Indices of the scanners that may match `text`, in order."""
        low = _folded(text)
        if low is None:
            return list(range(len(self.scanners)))
        found = set(self.always)
        for _, indices in self.automaton.iter(low):
            found |= indices
        return sorted(found)


_last: tuple[str, str | None] = ("", "")  # the last text folded: scanners of one text share it


def _folded(text: str) -> str | None:
    """`text` lower-cased character for character (same length), or None where it holds a character
    that IGNORECASE folds to an ASCII letter but lower() does not (the prefixes cannot be used)."""
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    low = None if _ODD_FOLDS.search(text) else lowered(text)
    _last = (text, low)
    return low


def alternatives(named: list[tuple[str, str]], flags: int = 0) -> re.Pattern:
    """One pattern of named alternatives, led by a look-ahead for their possible first characters:
    the regex engine then skips most positions with one test instead of trying every branch."""
    firsts: set[str] = set()
    for _, rx in named:
        for branch in rx.split("|"):
            branch = re.sub(r"^(?:\\b|\(\?:)+", "", branch)
            if not branch or not (branch[0].isalnum() or HAN_CHAR.match(branch[0])) or branch[1:2] in ("?", "*", "{"):
                firsts = set()
                break
            firsts |= {branch[0].lower(), branch[0].upper()} if flags & re.I else {branch[0]}
        else:
            continue
        break
    body = "|".join(f"(?P<{name}>{rx})" for name, rx in named)
    lead = f"(?=[{''.join(sorted(firsts))}])" if firsts else ""
    return re.compile(f"{lead}(?:{body})", flags)


def lowered(text: str) -> str:
    """Lower-cased text with the same length, so match offsets stay valid."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c.lower()[:1] or c for c in text)
