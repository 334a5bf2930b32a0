"""Fixtures for the notification tests: a webhook signer, the whole bot with its outbox worker
(BotHarness(outbox=True)), and databases on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.settings import BotSettings
from bot.core.store import db
from bot.core.store.testing import fresh_postgres_database, postgres_unavailable
from bot.testkit.harness import BotHarness
from bot.testkit.partner_center import WebhookSigner

from .helpers import fast_settings


@pytest.fixture(scope="session")
def signer() -> Iterator[WebhookSigner]:
    with WebhookSigner() as instance:
        yield instance


@pytest.fixture
def make_bot(signer: WebhookSigner) -> Iterator[Callable[..., BotHarness]]:
    """Start a BotHarness with the outbox worker; stopped after the test."""
    started: list[BotHarness] = []

    def make(*, settings: BotSettings | None = None, **kwargs: Any) -> BotHarness:
        kwargs.setdefault("outbox", True)
        harness = BotHarness(signer=signer, bot_settings=settings or fast_settings(), **kwargs)
        started.append(harness.start())
        return harness

    yield make
    for harness in reversed(started):
        harness.stop()


@pytest.fixture
def bot(make_bot: Callable[..., BotHarness]) -> BotHarness:
    return make_bot()


@pytest.fixture(params=["single", "distributed"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both ways to run (docs/slack-app.md): one workspace's token, or each organization's
    workspace installed with its own token (`tk.seed(..., install=bot.install)`)."""
    return str(request.param)


@pytest.fixture
def each_mode_bot(make_bot: Callable[..., BotHarness], mode: str) -> BotHarness:
    return make_bot(distributed=mode == "distributed")


def seed_in(bot: BotHarness, **options: Any) -> list[Any]:
    """`tk.seed` for `bot`'s mode: in distributed mode each organization installs the app."""
    from bot.testkit import notify as tk

    install = bot.install if bot.distributed else None
    return tk.seed(bot.services.sessions, bot.slack, install=install, **options)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notify-template") / "template.sqlite3"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "notify.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        db.upgrade(url)
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        db.upgrade(url)
        yield url
