from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.core.store.directory import import_directory
from bot.core.store.directory_file import read_directory_file
from bot.testkit.harness import BotHarness
from bot.testkit.identity import DEFAULT_USER_ID

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"

#: Each organization of the example directory in its own Slack workspace (distributed mode):
#: team → (name, its people, its own channels). Another team's channel or user does not
#: exist there (the stand-in answers channel_not_found / user_not_found, as Slack does).
TEAMS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "T0PROVIDER": (
        "Contoso",
        ("U0PROVUSER1", "U0PROVADMIN", "U0OTHERUSER", "U0MARIA001", "U0JOHN0001", "U0FRANK001"),
        ("C0PROVNOTIF", "C0MCDESK01"),
    ),
    "T0RESELLER": ("Fabrikam", ("U0RESUSER01", "U0RESADMIN"), ("C0RESNOTIF",)),
    "T0NORTHWIND": ("Northwind", ("U0NWUSER01", "U0NWADMIN"), ("C0NWNOTIF",)),
    "T0TAILSPIN": ("Tailspin", ("U0TAILUSER1",), ("C0TAILNOTIF",)),
    "T0ADATUM": ("Adatum", ("U0ADATUMUSR", "U0ADATUMADM"), ("C0ADATUMNOT",)),
    "T0STRANGER": ("Stranger", ("U0STRANGER1",), ("C0STRANGER1",)),  # installed, not listed
}
#: The desk where the tests type their commands: a Slack Connect channel hosted by the
#: provider and shared with every other organization (payloads carry the actor's team).
DESK = "C0MCDESK01"


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    """A fresh bot per test in distributed mode, with the example partner directory loaded: a
    provider (Contoso, team T0PROVIDER), a reseller (Fabrikam, T0RESELLER) of it, a direct
    partner (Adatum)... each organization in its own workspace, which installed the app
    through /slack/install; every call is made with the token of the workspace it targets."""
    with distributed_bot() as harness:
        yield harness


@contextmanager
def distributed_bot(**options: Any) -> Iterator[BotHarness]:
    """The `bot` fixture's set-up; `options` for BotHarness (e.g. outbox=True)."""
    with BotHarness(distributed=True, **options) as harness:
        with harness.services.sessions.begin() as session:
            import_directory(session, read_directory_file(DIRECTORY))
        for team, (name, users, channels) in TEAMS.items():
            workspace = harness.slack.add_team(team, name=name)
            for user in (*users, DEFAULT_USER_ID):
                workspace.set_user(user, team_id=team)
            for channel in channels:
                workspace.set_channel(channel, name=channel.lower())
        harness.slack.share_channel(DESK, "T0PROVIDER", *[t for t in TEAMS if t != "T0PROVIDER"])
        for team, (_, users, _) in TEAMS.items():
            assert harness.install(team, users[0]).status_code == 200
        yield harness
