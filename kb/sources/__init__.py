"""Sources: where documents come from, one small module per source.

- sdk: what a scraper is made of (Scraper, Request, ItemError, Cursor); no database, no network
- runner: runs scrapers (fetches what they ask for, stores what they return, records runs)
- fetch, addresses: the one polite, safe HTTP client and the addresses it may go to; config: sources.toml
- rss, article, wechat, doj, courtlistener, uk_caselaw, pacer, vcdb, starter: the sources
- files, jsonl: user files (`kb add`) and a jsonl export read back (`kb import jsonl`)
- examples/: each source's example inputs beside the outputs they must give

A source is found by its entry point (`[project.entry-points."kb.scrapers"]`), so a
package can add one without touching kb: one module, one entry point, its examples.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import ConfigError, InvalidInput

ENTRY_POINT_GROUP = "kb.scrapers"


def registry() -> dict:
    """Scraper classes by source name, from the `kb.scrapers` entry points."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a plugin's import error, told in one line
            raise ConfigError(f"cannot load scraper {ep.name!r} ({ep.value}): {exc}") from None
    return dict(sorted(found.items()))


def scraper_for(url: str):
    """The registered scraper that claims `url` most specifically (`Scraper.claims`)."""
    claims = [(cls.claims(url), name, cls) for name, cls in registry().items()]
    score, name, cls = max(claims, key=lambda c: c[0], default=(0, None, None))
    if not score:
        raise InvalidInput(f"no scraper handles {url}")
    return cls
