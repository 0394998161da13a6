"""Other names of organisations and courts, in any language (字节跳动 = ByteDance).

The seed table is data (kb/data/aliases.json): loaded into the alias tables once per
its version; users add names with `kb alias`. `Aliases` matches them in a text:
Latin aliases as whole, capitalised words, Chinese ones as substrings, longest first.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import sqlite_utils

from ..errors import InvalidInput
from ..storage import entities as stored
from ..storage.db import get_setting, set_setting
from ..text.scan import Scanner
from ..text.scripts import HAN_CHAR

KINDS = ("organisation", "court")


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(resources.files("kb").joinpath("data/aliases.json").read_text(encoding="utf-8"))


def seed_table() -> dict[str, dict[str, list[str]]]:
    """{kind: {canonical name: [aliases]}} as shipped (the canonical name is an alias too)."""
    return {kind: _data()[kind] for kind in KINDS}


def home_country(organisation: str | None) -> str | None:
    """The country code the shipped table gives an organisation ('ByteDance' -> 'CN')."""
    return _data()["country"].get(organisation or "")


def fold(name: str) -> str:
    """A name as aliases are compared: lower case, single spaces."""
    return " ".join(name.lower().split())


def meaningful(name: str | None) -> bool:
    """Whether a name has a letter, digit or CJK character (not empty, blank or only punctuation)."""
    return bool(name and re.search(r"\w", name))


class Aliases:
    """Alias tables for organisations and courts, matched fast in any language."""

    def __init__(self, table: dict[str, dict[str, list[str]]]):
        self.canonical: dict[str, dict[str, str]] = {}
        self.cjk: dict[str, re.Pattern | None] = {}
        self.latin: dict[str, Scanner | None] = {}
        for kind, entries in table.items():
            names = {}
            for canonical, aliases in entries.items():
                for alias in [canonical, *aliases]:
                    if meaningful(alias):
                        names[fold(alias)] = canonical
            self.canonical[kind] = names
            cjk = sorted((a for a in names if HAN_CHAR.match(a)), key=len, reverse=True)
            self.cjk[kind] = re.compile("|".join(map(re.escape, cjk))) if cjk else None
            latin = sorted((a for a in names if not HAN_CHAR.match(a)), key=len, reverse=True)
            alternatives = "|".join(r"\s+".join(map(re.escape, a.split())) for a in latin)
            # whole words only: "Amazon.com" is one word, "Meta" in "Metadata" none
            self.latin[kind] = Scanner(re.compile(
                rf"(?<![A-Za-z0-9])(?<![A-Za-z0-9][.&'-])(?:{alternatives})(?![A-Za-z0-9]|[.&'-][A-Za-z0-9])",
                re.I)) if latin else None

    def lookup(self, kind: str, name: str) -> str | None:
        return self.canonical.get(kind, {}).get(fold(name))

    def find(self, kind: str, text: str):
        """(start, end, surface, canonical) of every alias of `kind` in `text`."""
        names = self.canonical[kind]
        if self.cjk[kind] is not None and HAN_CHAR.search(text):
            for m in self.cjk[kind].finditer(text):
                yield m.start(), m.end(), m.group(0), names[m.group(0)]
        if self.latin[kind] is not None:
            for m in self.latin[kind].finditer(text):
                if m.group(0)[0].isupper():  # names are capitalised: "apple" is fruit
                    yield m.start(), m.end(), m.group(0), names[fold(m.group(0))]


DEFAULT_ALIASES = Aliases(seed_table())


def seed_aliases(db: sqlite_utils.Database) -> None:
    """Load the shipped table into the alias tables once per its version (user rows stay)."""
    if get_setting(db, "entity_aliases_seed") == _data()["version"]:
        return
    for kind, entries in seed_table().items():
        for canonical, aliases in entries.items():
            for alias in [canonical, *aliases]:
                add_alias(db, kind, canonical, alias)
    set_setting(db, "entity_aliases_seed", _data()["version"])


def add_alias(db: sqlite_utils.Database, kind: str, canonical: str, alias: str) -> None:
    """Record that `alias` names the `kind` entity `canonical`."""
    for name in (canonical, alias):
        if not meaningful(name):
            raise InvalidInput(f"{kind} name {name!r} is empty or has no letters: give a real name")
    canonical, alias = canonical.strip(), alias.strip()
    stored.add_alias(db, stored.entity_id(db, kind, canonical), alias, "zh" if HAN_CHAR.search(alias) else "en")


def load_aliases(db: sqlite_utils.Database) -> Aliases:
    """The alias tables as stored (seeded on first use)."""
    seed_aliases(db)
    table: dict[str, dict[str, list[str]]] = {kind: {} for kind in KINDS}
    for kind, name, alias in stored.aliases(db, KINDS):
        table[kind].setdefault(name, []).append(alias)
    return Aliases(table)
