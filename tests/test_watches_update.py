"""Watches through `kb update` as cron runs it: real saved pages served on 127.0.0.1, real
processes, kill -9. Each watch records exactly its new matches, once, whatever reruns happen."""

from __future__ import annotations

import sqlite3

import pytest

from tests.test_update import check_consistent, kill_update_at, run_update, update_folder

PAGES = ["californiaglobe.com.amazon.html", "japantimes.co.jp.surgical.html", "guardian.co.tt-massy.html",
         "xinhuanet.com.c_1125597921.html"]
# Keyword mode: what a watch matches is then fixed by the pages' words (no model in the assertion).
WATCHES = [("masks", "surgical masks stolen from a hospital", "--source", "article"), ("wuhan", "武汉 疫情")]
EXPECTED = {("masks", "Losing face: 6,000 surgical masks stolen from Kobe hospital"),
            ("wuhan", "武汉的声音：有英勇的你，才有英雄的城！")}


@pytest.fixture
def setup(tmp_path, shared, site):
    db_path = update_folder(tmp_path, shared, site, PAGES)
    from kb.cli import main
    from click.testing import CliRunner
    for name, query, *filters in WATCHES:
        result = CliRunner().invoke(main, ["--db", str(db_path), "watch", "add", name, query, "--mode", "keyword",
                                           *filters])
        assert result.exit_code == 0, result.output
    return db_path


def recorded(db_path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT w.name, m.title FROM watch_matches m JOIN watches w ON w.id = m.watch_id "
                            "ORDER BY m.id").fetchall()
    finally:
        conn.close()


def test_update_records_each_new_match_once_and_a_second_run_none(setup):
    first = run_update(setup, "article", "vcdb")
    assert first.returncode == 0, first.stderr
    assert "watches: 2 new matches in 29 changed documents" in first.stdout
    assert "masks: i" in first.stdout and "wuhan: i" in first.stdout
    assert sorted(recorded(setup)) == sorted(EXPECTED)

    second = run_update(setup, "article", "vcdb")
    assert second.returncode == 0, second.stderr
    assert "watches: 0 new matches" in second.stdout
    assert sorted(recorded(setup)) == sorted(EXPECTED)
    runs = run_cli(setup, "runs", "--limit", "50")
    assert "watches" in runs and "new 2" in runs


def run_cli(db_path, *args) -> str:
    from click.testing import CliRunner
    from kb.cli import main
    result = CliRunner().invoke(main, ["--db", str(db_path), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("marker", ["article: scraping", "embedding:"])
def test_a_killed_run_loses_no_match_and_records_none_twice(setup, site, marker):
    kill_update_at(setup, site, marker)
    check_consistent(setup)
    assert len(recorded(setup)) == len(set(recorded(setup)))
    for _ in range(2):  # the rerun finds what the killed run left; the next finds nothing more
        rerun = run_update(setup, "article", "vcdb")
        assert rerun.returncode == 0, rerun.stderr
        assert sorted(recorded(setup)) == sorted(EXPECTED)
