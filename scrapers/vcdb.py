"""VCDB (VERIS Community Database) insider incidents from a local folder of VERIS JSON.

Wraps `kb.importers.vcdb`. Settings: `path` (a VCDB checkout's data/json
folder; relative paths are read from the database folder; empty means the
shared data folder's vcdb/json). Off by default: it is a bulk dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from kb import config
from kb.importers import vcdb

from kb.scraper import ItemError, Output, Scraper


class VcdbScraper(Scraper):
    name = "vcdb"
    kind = "dataset"
    description = "VCDB insider incidents (VERIS JSON, local folder)"
    defaults = {"path": "", "enabled": False, "interval_hours": 24 * 7}

    def start(self) -> Iterable[Output]:
        folder = Path(self.settings["path"]) if self.settings["path"] else config.shared_data() / "vcdb" / "json"
        if not folder.is_dir():
            yield ItemError(str(folder), "VCDB folder not found: set `path` under [sources.vcdb] in sources.toml")
            return
        result = vcdb.read_folder(folder)
        yield from result.records
        for where, reason in result.errors:
            yield ItemError(where, reason)
