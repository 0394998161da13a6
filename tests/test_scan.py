"""kb.text.scan finds exactly what the regex engine finds: the extraction patterns give the same
matches, spans and groups on real texts and on awkward ones (case folds, lookbehinds, words
that touch)."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.extract import aliases, court_records, facts, legal_en, legal_zh, names, status
from kb.incidents import matcher
from kb.records import document_text
from kb.sources import starter, vcdb
from kb.sources.files import read_file
from kb.text import numbers
from kb.text.scan import Scanner

from .conftest import FIXTURES


def scanners() -> list[tuple[str, Scanner]]:
    """Every Scanner the extractors use, by name."""
    found = []

    def walk(name, value):
        if isinstance(value, Scanner):
            found.append((name, value))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(f"{name}[{i}]", item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(f"{name}[{key}]", item)

    for module in (names, facts, status, legal_en, legal_zh, court_records, numbers, matcher):
        for name, value in vars(module).items():
            walk(f"{module.__name__}.{name}", value)
    walk("aliases", aliases.DEFAULT_ALIASES.latin)
    return found


def offences_kept(text: str) -> None:
    """AnyOf leaves out only offences whose pattern cannot match."""
    possible = set(legal_en._ANY_OFFENCE.possible(text))
    assert {i for i, (_, rx) in enumerate(legal_en._OFFENCE_RE) if rx.pattern.search(text)} <= possible


def same(scanner: Scanner, text: str) -> None:
    expected = [(m.span(), m.groups(), m.lastgroup) for m in scanner.pattern.finditer(text)]
    got = [(m.span(), m.groups(), m.lastgroup) for m in scanner.finditer(text)]
    assert got == expected, (scanner.pattern.pattern[:80], text[:200])
    first, found = scanner.pattern.search(text), scanner.search(text)
    if first is None:
        assert found is None
    else:
        assert (found.span(), found.groups()) == (first.span(), first.groups())


AWKWARD = [
    "", "a", "Amazon.com and amazon and AMAZON; Meta-data, Metadata, Meta.",
    "He waſ ſentenced to 5 years; ıntern; İNTERN; the KELVIN sign \u212a.",
    "formerly worked at Google, and in-charge of nothing; not charged; charged to customers",
    "Apple Inc. sued ByteDance Ltd for $1.2 million (US$3,000) in 3:23-cv-04557-ABC on Jan. 5, 2024.",
    "字节跳动实习生intern田某某于2024年6月至7月篡改代码，索赔800万元。北京市海淀区人民法院受理。",
    "two former employees, three breaches; references 12; Qian Sang, a former senior research scientist",
    "Bob Smith, 34, a nurse at Example Hospital, was arrested and pleaded guilty to wire fraud.",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_every_extraction_pattern_matches_as_the_regex_engine_does(text):
    for _, scanner in scanners():
        same(scanner, text)
    offences_kept(text)


def test_same_matches_on_real_documents(shared):
    pages = sorted(FIXTURES.glob("*.md")) + sorted((shared / "news" / "seed").glob("*.md"))
    records = list(starter.iter_records()) + [read_file(p) for p in pages]
    records += [vcdb.to_record(json.loads(p.read_text(encoding="utf-8")))
                for p in sorted((shared / "vcdb" / "json").glob("*.json"))[:400]]
    texts = [document_text(r.title, r.text) for r in records]
    assert len(texts) > 20
    for _, scanner in scanners():
        for text in texts:
            same(scanner, text)
    for text in texts:
        offences_kept(text)


_PIECES = st.sampled_from(["fraud", "Fraud", "FRAUD", "ſ", "ı", "İ", " ", ".", ",", "-", "a", "Inc", "charged",
                           "in ", "sentenced", "Court", "County Court", "字节", "实习", "2024", "$", "5", "million",
                           "\n", "Jan", "former ", "employee", "Google", "named ", "Smith", ", a ", "34,",
                           "wire fraud", "THEFT", "bribe", "RICO", "rico", "accused of"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_same_matches_on_generated_text(text):
    for _, scanner in scanners():
        same(scanner, text)
    offences_kept(text)


def test_a_pattern_without_literal_prefixes_is_run_as_it_is():
    scanner = Scanner(re.compile(r"\b[A-Z][a-z]+ Corp\b"))
    assert scanner.automaton is None
    assert [m.group(0) for m in scanner.finditer("Acme Corp and Beta Corp")] == ["Acme Corp", "Beta Corp"]


def test_needs_skips_texts_without_a_needed_word_and_keeps_the_rest():
    scanner = Scanner(re.compile(r"\d+ dollars", re.I), needs=("dollars",))
    assert list(scanner.finditer("5 euros")) == []
    assert [m.group(0) for m in scanner.finditer("paid 5 DOLLARS")] == ["5 DOLLARS"]
