"""What a search returns: hits (documents, or incidents with their documents), each saying why it matched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Why:
    """Why a hit matched: query terms found in it, its best passage and that passage's similarity."""

    terms: list[str] = field(default_factory=list)
    semantic: float | None = None
    passage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # shallow: dataclasses.asdict deep-copies (a third of a request's time)


@dataclass
class DocumentHit:
    rank: int
    score: float
    document_id: int
    source: str
    external_id: str
    url: str | None
    title: str | None
    published: str | None
    kind: str
    language: str | None
    snippet: str | None
    incident_id: int | None
    why: Why = field(default_factory=Why)

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["why"] = self.why.to_dict()
        return out


@dataclass
class IncidentHit:
    """An incident (or a document not linked to one yet) with its best matching documents.

    `external_id`, `document_id`, `source`, `url`, `published`, `kind`,
    `language` and `snippet` are those of the best document, so an incident
    hit reads like a document hit; `title` is the incident's.
    """

    rank: int
    score: float
    incident_id: int | None
    title: str | None
    incident_type: str | None
    organisation: str | None
    year: int | None
    document_id: int
    source: str
    external_id: str
    url: str | None
    published: str | None
    kind: str
    language: str | None
    snippet: str | None
    documents: list[DocumentHit]
    why: Why = field(default_factory=Why)
    scope: str | None = None  # the incident's (kb.incidents.scope)
    legal_status: str | None = None  # its latest legal step (kb.incidents.legal_status) and that step's date
    legal_status_date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("documents", "why")}
        out["documents"] = [d.to_dict() for d in self.documents]
        out["why"] = self.why.to_dict()
        return out


@dataclass
class Results:
    """The hits of one search, best first, and warnings (e.g. answered from keywords only)."""

    query: str
    mode: str
    by: str
    hits: list[DocumentHit] | list[IncidentHit]
    warnings: list[str] = field(default_factory=list)
    embedding: dict[str, Any] | None = None  # while passages lack vectors: kb.index.embed.Coverage.to_dict()

    def to_dict(self) -> dict[str, Any]:
        out = {"query": self.query, "mode": self.mode, "by": self.by,
               "hits": [h.to_dict() for h in self.hits]}
        if self.warnings:
            out["warnings"] = self.warnings
        if self.embedding:
            out["embedding"] = self.embedding
        return out
