"""Entity and fact extraction from a document, in English and Chinese, and the step that stores it.

`extract(title, text)` is a pure function: it returns `Entity` values with the
span they came from in `document_text(title, text)` (title, blank line, text),
each with its sentence and that sentence's status (kb.extract.status). Kinds:
organisation, person, surname, role, court, case_number (kb.extract.names);
statute, money, date, incident_type (kb.extract.facts). `name` is the canonical
form shared across documents and languages (字节跳动 and ByteDance are both
"ByteDance"); `value` a normalised value (8000000 CNY, 2024-06/2024-07, intern);
`label` what a fact is about (claim, costs, loss, incident, dismissal, case...).
"""

from __future__ import annotations

import sqlite_utils

from ..records import document_text
from ..storage import entities as stored, store
from ..storage.sql import batches
from . import workers
from .aliases import DEFAULT_ALIASES, Aliases, load_aliases
from .entity import Entity
from .facts import dates, incident_types, money, statutes
from .names import case_numbers, courts, organisations, people, roles
from .status import PAST_EMPLOYER, Statuses


def extract(title: str | None, text: str | None, aliases: Aliases = DEFAULT_ALIASES,
            published: str | None = None) -> list[Entity]:
    """All entities and facts of a document, ordered by position."""
    full = document_text(title, text)
    statuses = Statuses(full)
    found = (
        organisations(full, aliases) + people(full) + roles(full) + courts(full, aliases)
        + case_numbers(full) + statutes(full) + money(full) + dates(full, published, statuses.sentences)
        + incident_types(full)
    )
    return sorted((with_status(statuses, e) for e in found), key=lambda e: (e.start, e.kind))


def with_status(statuses: Statuses, e: Entity) -> Entity:
    """The entity with its sentence and whether that sentence states it as fact or not.

    Organisations named as a past employer ("formerly worked at", 曾在/自2019年起在) get
    the label 'past_employer': they are not parties."""
    start, sentence, status = statuses.of(e.start)
    label = e.label
    if e.kind == "organisation" and PAST_EMPLOYER.search(statuses.sentences.text[start:e.start]):
        label = "past_employer"
    return Entity(e.kind, e.name, e.surface, e.start, e.end, e.value, label, status, sentence[:500])


# --- the step --------------------------------------------------------------------

def step(db: sqlite_utils.Database, doc_ids: list[int]) -> int:
    """The pipeline step: extract and store every document's entities (replacing what it had),
    on kb.extract.workers' processes for big batches. Returns the mentions stored."""
    aliases = load_aliases(db)
    cache: dict = {}
    stored_mentions = 0
    for chunk in batches(doc_ids):
        texts = store.texts(db, chunk)
        found = workers.map_all(_extract_one, [(title, text, aliases, published)
                                               for title, text, published in texts.values()])
        stored.replace_mentions(db, dict(zip(texts, found)), cache)
        stored_mentions += sum(map(len, found))
    return stored_mentions


def _extract_one(item: tuple) -> list[Entity]:
    return extract(*item)
