"""Shared fixtures: real SQLite files, the real shared data folder, the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb import settings
from kb import KB
from kb.cli import main
from kb.storage.db import open_db

FIXTURES = Path(__file__).parent / "fixtures"
REQUIRE_BROWSER = os.environ.get("KB_REQUIRE_BROWSER") == "1"  # set by .ci/run


# Tests that use one of these need the embedding model, the shared data or a browser: `make test` runs
# them, `make test-fast` (pytest -m "not slow") leaves them out.
SLOW_FIXTURES = {"model", "minilm", "e5", "encoder", "starter_db", "starter_copy", "shared", "vcdb_dir",
                 "chromium"}


def pytest_configure(config):
    config.addinivalue_line("markers", "required_in_ci: where KB_REQUIRE_BROWSER=1, skipping this test fails it")
    config.addinivalue_line("markers", "slow: needs the embedding model, the shared data or a browser "
                                       "(or takes seconds): left out by `make test-fast`")


def pytest_collection_modifyitems(config, items):
    """Mark slow every test that uses a fixture of SLOW_FIXTURES, however indirectly."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a required test that skips (no browser, no shared data...) is a failure, never silent."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_BROWSER and report.skipped and item.get_closest_marker("required_in_ci"):
        report.outcome = "failed"
        report.longrepr = f"required in CI (KB_REQUIRE_BROWSER=1) but skipped: {call.excinfo.value if call.excinfo else ''}"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real third-party data folder ($KB_SHARED_DATA); skip where absent."""
    path = settings.shared_data()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set KB_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def vcdb_dir(shared) -> Path:
    """The real VCDB folder of VERIS JSON files; skip where absent."""
    path = shared / "vcdb" / "json"
    if not path.is_dir():
        pytest.skip(f"VCDB data not found at {path}")
    return path


@pytest.fixture
def site():
    """A real HTTP server on 127.0.0.1 (tests/webserver.py) that can misbehave on purpose."""
    from tests.webserver import Site

    server = Site()
    yield server
    server.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "kb.db"


@pytest.fixture
def db(db_path):
    return open_db(db_path)


def cli(db_path: Path):
    """The real `kb` CLI bound to one database: `run(*args)` returns click's result."""
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--db", str(db_path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run.json = lambda *args: json.loads(run(*args, "--json").stdout)
    return run


@pytest.fixture
def kb(db_path):
    """The real `kb` CLI on a fresh temporary database."""
    return cli(db_path)


@pytest.fixture(scope="session")
def model():
    """The real default embedding model, loaded once for the whole run."""
    from kb.index.encoders import load_encoder

    return load_encoder(settings.DEFAULT_MODEL, "cpu")


@pytest.fixture(scope="session")
def starter_db(tmp_path_factory, model, shared) -> Path:
    """A database with the starter set and the seed article, stored, linked, embedded and indexed
    through the public write path (built once)."""
    path = tmp_path_factory.mktemp("starter") / "kb.db"
    kb = KB(path)
    kb.import_source("starter")
    kb.ingest([kb.read_file(p) for p in (shared / "news" / "seed").glob("*.md")])
    kb.embed(encoder=model)
    return path


@pytest.fixture
def starter_copy(starter_db, tmp_path) -> Path:
    """A private copy of the embedded starter database, for tests that change it."""
    import shutil

    from kb.storage.db import open_db as _open

    _open(starter_db).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = tmp_path / "kb.db"
    shutil.copy(starter_db, target)
    shutil.copy(settings.paths(starter_db).index, settings.paths(target).index)
    return target


def local_sources_toml(path: Path, urls: list[str], vcdb: Path, doj: str = "enabled = false",
                       fetch: str = "") -> Path:
    """A sources.toml for the local test site: its article pages and a VCDB folder; every other source off."""
    from kb.sources import registry

    others = "".join(f"[sources.{name}]\nenabled = false\n" for name in registry()
                     if name not in ("article", "vcdb", "doj"))
    path.write_text(f"""
[fetch]
min_delay = 0.0
retries = 0
{fetch}
allow = ["127.0.0.1"]

{others}
[sources.doj]
{doj}
[sources.article]
urls = {json.dumps(urls)}
[sources.vcdb]
enabled = true
path = "{vcdb}"
""", encoding="utf-8")
    return path
