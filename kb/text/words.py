"""Index words: how the keyword stage reads a text (kb.index.words), the same for documents and
queries.

Words are lower-cased letters and digits without diacritics; Chinese comes segmented
(kb.text.segment), so its words are the segmenter's. English words lose their inflections only
(`inflection`): `interns` and `interned` are the word `intern`, `internal` stays `internal`
(a Porter stemmer, as FTS5's, makes both `intern`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .scripts import HAN

LATIN = f"(?:(?![{HAN}])[^\\W_])"  # a letter or digit that is not Chinese (see kb.search.present)
_WORD = re.compile(r"[^\W_]+")  # Chinese arrives segmented, with spaces around its words
_VOWEL = re.compile(r"[aeiouy]")
_KEEP_S = ("ss", "us", "is")  # access, status, analysis: not plurals


def words(text: str | None) -> list[str]:
    """The index words of a text, in order."""
    if not text:
        return []
    return [inflection(w) for w in _WORD.findall(_plain(text.lower()))]


def _plain(text: str) -> str:
    """The text without diacritics (as FTS5's remove_diacritics), Chinese untouched."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def inflection(word: str) -> str:
    """An English word without its inflection (plural, -ed, -ing, third person -s), and without
    a final e, so delete, deletes, deleted and deleting are one word; other words unchanged."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_KEEP_S):
        return _base(word[:-1])
    for suffix in ("ing", "ed"):
        stem = word[:-len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3 and _VOWEL.search(stem):
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiouslz":
                stem = stem[:-1]  # stopped -> stop, committed -> commit (installed, passed keep theirs)
            return _base(stem)
    return _base(word)


def _base(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


@lru_cache(maxsize=1)
def _lexicon_phrases():
    """The lexicon's terms of several words: Chinese as written (an automaton over texts), English
    as tuples of index words (by their first word)."""
    import ahocorasick

    from .lexicon import lexicon
    from .scripts import HAN_RUN
    from .segment import cut

    chinese = ahocorasick.Automaton()
    english: dict[str, list[tuple[str, ...]]] = {}
    for concept in lexicon():
        for term in concept.zh:
            if HAN_RUN.fullmatch(term) and len(cut(term)) > 1:
                chinese.add_word(term, term)
        for phrase in concept.en:
            key = tuple(words(phrase))
            if len(key) > 1 and key not in english.get(key[0], []):
                english.setdefault(key[0], []).append(key)
    if len(chinese):
        chinese.make_automaton()
    return chinese, english


def phrases(text: str | None, text_words: list[str]) -> list[str]:
    """The lexicon phrases that a text holds, once per occurrence, as index words: a Chinese term
    as written (前员工, where the segmenter sees 前 员工), an English phrase as its index words
    joined by a space ("trade secret")."""
    chinese, english = _lexicon_phrases()
    out = [term for _, term in chinese.iter(text)] if text and len(chinese) and not text.isascii() else []
    for i, word in enumerate(text_words):
        for key in english.get(word, ()):
            if tuple(text_words[i:i + len(key)]) == key:
                out.append(" ".join(key))
    return out


def phrase_word(term: str) -> str:
    """The index word of a lexicon phrase (see `phrases`)."""
    return " ".join(words(term)) if term.isascii() else term
