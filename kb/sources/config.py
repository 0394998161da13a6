"""Sources and fetch settings from `sources.toml` beside the database (db/sources.toml).

Everything has a default: a scraper class declares its settings and their
defaults, `kb.fetch.FetchSettings` declares the fetcher's, and the file only
overrides them. A missing file means all defaults. Layout:

    [kb]                        # kb.settings: workers, model, device
    [fetch]                     # FetchSettings fields, e.g. min_delay = 1.0
    [fetch.host_delays]         # seconds between requests, per host
    [sources.NAME]              # enabled, interval_hours, and the scraper's own keys

Settings named `path` are read relative to the folder of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from .. import settings
from ..errors import ConfigError
from . import addresses
from .fetch import FetchSettings


@dataclass
class SourcesConfig:
    """The file's contents (empty when there is none), and where it was read from."""

    path: Path
    kb: dict[str, Any] = field(default_factory=dict)
    fetch: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fetch_settings(self) -> FetchSettings:
        known = {f.name for f in fields(FetchSettings)}
        unknown = sorted(set(self.fetch) - known)
        if unknown:
            raise ConfigError(f"{self.path}: unknown [fetch] setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
        defaults = FetchSettings()
        for key, value in self.fetch.items():
            _check_type(self.path, f"[fetch] {key}", value, getattr(defaults, key))
        try:
            addresses.networks(self.fetch.get("allow", []))
        except ValueError as exc:
            raise ConfigError(f"{self.path}: [fetch] allow: {exc} (give addresses or networks, "
                              "e.g. \"10.0.0.0/8\")") from None
        return FetchSettings(**self.fetch)

    def settings_for(self, scraper_cls) -> dict[str, Any]:
        """A scraper's settings: its defaults, overridden by the file's [sources.NAME]."""
        defaults = {**scraper_cls.common_defaults, **scraper_cls.defaults}
        given = dict(self.sources.get(scraper_cls.name, {}))
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ConfigError(f"{self.path}: unknown setting(s) {', '.join(unknown)} for source "
                          f"{scraper_cls.name} (known: {', '.join(sorted(defaults))})")
        for key, value in given.items():
            _check_type(self.path, f"[sources.{scraper_cls.name}] {key}", value, defaults[key])
        if given.get("path"):
            given["path"] = str((self.path.parent / Path(given["path"]).expanduser()).resolve())
        return {**defaults, **given}


MAX_NUMBER = 1e9  # any number setting (hours, seconds, bytes, counts): larger is a mistake, and overflows dates


def _check_type(path: Path, name: str, value: Any, default: Any) -> None:
    """ConfigError unless `value` has the type of the setting's default (any finite number from 0
    to MAX_NUMBER for a number; a list of what the default's list holds, strings if it is empty;
    a table of numbers for a table of numbers)."""
    if default is None:
        return
    if isinstance(default, bool):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_NUMBER
        expected = f"a number from 0 to {MAX_NUMBER:g}"
    elif isinstance(default, list):
        item = type(default[0]) if default else str
        ok = isinstance(value, list) and all(isinstance(v, item) for v in value)
        expected = f"a list of {item.__name__}"
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MAX_NUMBER for v in value.values())
        expected = f"a table of numbers from 0 to {MAX_NUMBER:g}"
    else:
        ok, expected = isinstance(value, type(default)), f"a {type(default).__name__}"
    if not ok:
        raise ConfigError(f"{path}: {name} = {str(value)[:40]!r}: expected {expected}")


def load(db_path: str | Path) -> SourcesConfig:
    """Read the sources file beside the database; all defaults if there is none."""
    path = settings.paths(db_path).sources
    if not path.is_file():
        return SourcesConfig(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    sources = data.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, dict) for v in sources.values()):
        raise ConfigError(f"{path}: [sources.NAME] sections expected")
    for table in ("kb", "fetch"):
        if not isinstance(data.get(table, {}), dict):
            raise ConfigError(f"{path}: [{table}] must be a table")
    return SourcesConfig(path=path, kb=data.get("kb", {}), fetch=data.get("fetch", {}), sources=sources)
