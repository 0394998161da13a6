"""The Datasette site of a knowledge base, as `kb serve`, the tests and the benchmark build it:
kb/web/datasette.yaml (titles, descriptions, facets, hidden tables, canned queries) with its
`kb` database renamed to the served file's name, and this package's plugin."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

CONFIG_FILE = resources.files("kb").joinpath("web/datasette.yaml")  # package data: found in any install
CONFIG_DB_KEY = "kb"  # the database's key in datasette.yaml, renamed to the served file's name


def load_config(db_name: str, public: bool = False) -> dict:
    """kb/web/datasette.yaml with its `kb` database renamed to `db_name` (and whether the site is public)."""
    conf = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    databases = conf.setdefault("databases", {})
    if CONFIG_DB_KEY in databases:
        databases[db_name] = databases.pop(CONFIG_DB_KEY)
    conf.setdefault("plugins", {})["kb"] = {"database": db_name, "public": public}
    return conf


def make_datasette(db_path: str | Path, public: bool = False):
    """A Datasette serving the KB at `db_path` with kb/web/datasette.yaml and this plugin.

    The file is opened mutable (not immutable) so the site sees `kb update`
    writes; every Datasette connection to it is query-only (see
    `prepare_connection`). `public` also turns off file downloads and
    streaming of whole tables as CSV.
    """
    from datasette import __version__
    from datasette.app import Datasette

    conf = load_config(Path(db_path).stem, public)
    settings = {"allow_download": False, "allow_csv_stream": False} if public else {}
    if int(__version__.split(".")[0]) >= 1:
        return Datasette([str(db_path)], config=conf, metadata=_metadata_part(conf), settings=settings)
    return Datasette([str(db_path)], metadata=conf, settings=settings)


def _metadata_part(conf: dict) -> dict:
    """The descriptive keys that Datasette 1.0 reads from metadata rather than config."""
    keep = ("title", "description", "description_html", "license", "source", "columns")
    meta = {k: v for k, v in conf.items() if k in keep}
    meta["databases"] = {
        name: {"description": db.get("description"),
               "tables": {t: {k: v for k, v in tc.items() if k in keep}
                          for t, tc in db.get("tables", {}).items()}}
        for name, db in conf.get("databases", {}).items()
    }
    return meta
