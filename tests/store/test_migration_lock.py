"""Replicas start together: several processes migrate one fresh database at once, on SQLite and
PostgreSQL; each migrates under a database lock, so all succeed and the schema is at head."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.core.store import db
from bot.core.store.testing import fresh_postgres_database, postgres_unavailable

MCBOT = str(Path(sys.executable).with_name("mcbot"))
PROCESSES = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        yield url


def test_processes_migrating_one_fresh_database_at_once_all_succeed(
    fresh_url: str, tmp_path: Path
) -> None:
    procs = [
        subprocess.Popen(
            [MCBOT, "db", "upgrade", "--database-url", fresh_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(PROCESSES)
    ]
    results = [(proc.wait(timeout=120), proc.communicate()[0]) for proc in procs]
    assert [code for code, _ in results] == [0] * PROCESSES, results
    assert db.current_revision(fresh_url) == db.head_revision()
    engine = db.make_engine(fresh_url)
    try:
        with engine.connect() as connection:
            assert "decision_records" in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_migrating_postgresql_creates_no_file(
    fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock on the database file is SQLite's: a PostgreSQL database name is no path."""
    monkeypatch.chdir(tmp_path)
    db.upgrade(fresh_url)
    created = {p.name for p in tmp_path.iterdir()}
    assert created <= {"fresh.sqlite3", "fresh.sqlite3-wal", "fresh.sqlite3-shm"}, created
