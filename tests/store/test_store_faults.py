"""Storage faults end and the bot recovers by itself: a SQLite file that was read-only (sqlite3
then opens it read-only, and the pool kept those connections) is written again once writable,
without a restart. (The decision log's writer thread: tests/store/test_decision_log.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from bot.core.readiness import check_database
from bot.core.store import db
from bot.core.store.testing import Database, read_only


def _write(engine: Engine, value: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO language_preferences (scope, subject_id, lang, updated_at, "
                "updated_by) VALUES ('user', :v, 'es', '2026-01-01 00:00:00.000000', 'test')"
            ),
            {"v": value},
        )


def test_a_file_writable_again_is_written_without_a_restart(sqlite_file: Path) -> None:
    engine = db.make_engine(f"sqlite:///{sqlite_file}")
    try:
        with read_only(sqlite_file), pytest.raises(OperationalError, match="readonly"):
            _write(engine, "U0READONLY")
        _write(engine, "U0WRITABLE")  # a fresh connection, opened read-write
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT subject_id FROM language_preferences"))
            assert [r[0] for r in rows] == ["U0WRITABLE"]
    finally:
        engine.dispose()


def test_readiness_sees_a_write_lock_held_elsewhere_on_both_backends(store: Database) -> None:
    assert check_database(store.engine).ok
    holder = db.make_engine(store.url)
    try:
        with holder.connect() as other:
            other.exec_driver_sql("BEGIN IMMEDIATE" if store.backend == "sqlite" else "SELECT 1")
            other.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
            check = check_database(store.engine)  # waits 0.2 s, not 5
            other.rollback()
        assert not check.ok
        assert "write lock" in check.fix, check
        assert check_database(store.engine).ok  # the lock is gone: ready again
    finally:
        holder.dispose()


def test_readiness_names_an_unmigrated_database(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        check = check_database(engine)
    finally:
        engine.dispose()
    assert not check.ok and "mcbot db upgrade" in check.fix
