"""One entity mention: what it is, its canonical name, and where in the document it was found
(offsets in kb.records.document_text)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """One mention: what it is, its canonical name, and where it was found."""

    kind: str
    name: str
    surface: str
    start: int
    end: int
    value: str | None = None
    label: str | None = None
    status: str = "fact"
    sentence: str | None = None
