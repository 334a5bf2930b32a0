"""Suite-wide: `mcbot assess` logs its decisions to DATABASE_URL (by default a SQLite file in the
working directory); each test gets a database of its own, never a file in the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'decisions.sqlite3'}")
