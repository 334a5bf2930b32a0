from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.store.directory import import_directory
from bot.core.store.directory_file import read_directory_file
from bot.testkit.harness import BotHarness

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    """A fresh bot per test, with the example partner directory loaded: a provider (Contoso,
    team T0PROVIDER), a reseller (Fabrikam, T0RESELLER) of it, a direct partner (Adatum)."""
    with BotHarness() as harness:
        with harness.services.sessions.begin() as session:
            import_directory(session, read_directory_file(DIRECTORY))
        for channel in ("C0PROVNOTIF", "C0RESNOTIF", "C0NWNOTIF", "C0ADATUMNOT", "C0MCDESK01"):
            harness.slack.set_channel(channel, name=channel.lower())
        yield harness
