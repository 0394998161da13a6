"""Search modes: how the documents of one search are ranked. The CLI (`kb search --mode`), the
web and Python all read this registry; a mode is one entry point.

A mode is an object (a class with no arguments) with

- `name` and `description`,
- `uses_vectors(ready)`: whether it needs the query's vectors, given that the
  knowledge base has them (`ready`: embedded and indexed),
- `rank(stages)`: {document id: score} from what a `kb.search.searcher.Stages`
  offers: `stages.keyword()`, `stages.semantic()`, `stages.semantic_soon()`
  (started on a worker thread), `stages.ready`, `stages.db`, `stages.query`,
  `stages.warn(text)`.

Built-in modes are registered like any other, under the `kb.search_modes` entry
point group (pyproject.toml):

    [project.entry-points."kb.search_modes"]
    newest = "my_package.modes:Newest"
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from ..errors import ConfigError, InvalidInput
from .fusion import fuse, per_language

ENTRY_POINT_GROUP = "kb.search_modes"
DEFAULT = "hybrid"


class Hybrid:
    name = "hybrid"
    description = "keywords and meaning, fused (keywords alone until something is embedded)"

    def uses_vectors(self, ready: bool) -> bool:
        return ready

    def rank(self, stages) -> dict[int, float]:
        if not stages.ready:
            if stages.embedded:
                stages.warn(f"no vector index at {stages.index_path}: answered from the keyword index only "
                            "(run `kb embed` or `kb index --rebuild`)")
            return {d: hit[0] for d, hit in stages.keyword().items()}
        semantic = stages.semantic_soon()  # FAISS on a worker while this thread ranks keywords
        keyword = stages.keyword()
        semantic = semantic()
        scores = fuse(keyword, semantic)
        return per_language(stages.db, scores, stages.language) if keyword and semantic else scores


class Semantic:
    name = "semantic"
    description = "meaning only: passage vectors"

    def uses_vectors(self, ready: bool) -> bool:
        return True

    def rank(self, stages) -> dict[int, float]:
        return {d: hit[0] for d, hit in stages.semantic().items()}


class Keyword:
    name = "keyword"
    description = "words only: BM25, the lexicon, Chinese substrings"

    def uses_vectors(self, ready: bool) -> bool:
        return False

    def rank(self, stages) -> dict[int, float]:
        return {d: hit[0] for d, hit in stages.keyword().items()}


@lru_cache(maxsize=1)
def registry() -> dict:
    """Search modes by name, from the `kb.search_modes` entry points (the default first)."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()()
        except Exception as exc:  # a plugin's import error, told in one line
            raise ConfigError(f"cannot load search mode {ep.name!r} ({ep.value}): {exc}") from None
    return dict(sorted(found.items(), key=lambda item: (item[0] != DEFAULT, item[0])))


def names() -> tuple[str, ...]:
    """The names of every registered mode, the default first."""
    return tuple(registry())


def get(name: str):
    """The mode called `name`, or a clear error."""
    modes = registry()
    if name not in modes:
        raise InvalidInput(f"unknown mode {name!r}: choose one of {', '.join(modes)}")
    return modes[name]
