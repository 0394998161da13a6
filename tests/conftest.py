"""Shared fixtures: real SQLite files, the real shared data folder, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb import config
from kb.cli import main
from kb.db import open_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real third-party data folder ($KB_SHARED_DATA); skip where absent."""
    path = config.shared_data()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set KB_SHARED_DATA)")
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "kb.db"


@pytest.fixture
def db(db_path):
    return open_db(db_path)


@pytest.fixture
def kb(db_path):
    """Run the real `kb` CLI on a temporary database; returns the click result."""
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, ["--db", str(db_path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run.json = lambda *args: json.loads(run(*args, "--json").stdout)
    return run
