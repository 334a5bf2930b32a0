"""Suite-wide: `mcbot assess` logs its decisions to DATABASE_URL (by default a SQLite file in the
working directory); each test gets a database of its own, never a file in the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.ui import blockkit


@pytest.fixture(autouse=True)
def _own_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'decisions.sqlite3'}")


@pytest.fixture(autouse=True)
def _slack_sdk_second_opinion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every surface rendered in a test is also checked by slack_sdk (off in production:
    bot/core/ui/blockkit.py says why)."""
    monkeypatch.setattr(blockkit, "SDK_SECOND_OPINION", True)
