"""Test support for code that uses the store (here and in the Slack app's tests): a clock
you set by hand, and fresh migrated databases on SQLite or PostgreSQL.

Nothing here runs in production; it is shipped so every test suite builds databases the
same way.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.core.store.models import Base, Organization

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
DEFAULT_START = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@dataclass
class FakeClock:
    """A `Clock` that stands still until moved."""

    now: datetime = DEFAULT_START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@dataclass
class Database:
    """A migrated database for one test: its backend, URL, engine and sessions. `orgs` holds
    organizations a fixture imported, by key (detached, attributes loaded)."""

    backend: str
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    orgs: dict[str, Organization] = field(default_factory=dict)


def postgres_unavailable(dsn: str = POSTGRES_ADMIN_DSN) -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        with psycopg.connect(dsn):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable ({dsn}): {str(error).strip()[:200]}"


@contextmanager
def fresh_postgres_database(dsn: str = POSTGRES_ADMIN_DSN) -> Iterator[str]:
    """Create a uniquely named empty database, yield its URL, drop it afterwards (even
    with connections still open)."""
    name = f"mc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # Throwaway data: do not wait for the disk on every commit.
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_tables(engine: Engine) -> None:
    """Delete every row, children first (much faster than TRUNCATE for a few rows).
    Ids keep counting up: tests must not depend on them."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def make_read_only(path: Path) -> None:
    """Make a file unwritable even for root (who ignores permission bits): `chattr +i` as
    root, else chmod a-w. Raises OSError when neither is possible here."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None:
            raise OSError("chattr not found: cannot make a file read-only for root")
        done = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise OSError(f"chattr +i {path}: {done.stderr.strip()}")
        return
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(path: Path) -> None:
    """Undo `make_read_only`."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
        return
    path.chmod(path.stat().st_mode | stat.S_IWUSR)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` unwritable inside the block (see `make_read_only`), writable again after."""
    make_read_only(path)
    try:
        yield
    finally:
        make_writable(path)
