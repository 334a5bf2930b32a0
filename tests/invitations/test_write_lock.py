"""A write lock held elsewhere (another process in a long SQLite transaction) must not hold up
the answer to Slack: a submitted invitation form is acknowledged at the deadline, while the
lock is still held, and the invitation is created once the lock is free; a language choice is
answered at once and saved once the lock is free, or reported as not saved."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.testkit.flows import PROVIDER_TEAM, PROVIDER_USER, invite_form, submit
from bot.testkit.harness import BotHarness, ack_json


@contextmanager
def write_lock_held(bot: BotHarness) -> Iterator[None]:
    """SQLite's write lock, held as by a long transaction in another process."""
    path = bot.database_url.removeprefix("sqlite:///")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def test_a_form_submitted_while_the_write_lock_is_held_is_acknowledged_then_done(
    bot: BotHarness,
) -> None:
    with write_lock_held(bot):
        ack = submit(
            bot,
            "invite_modal",
            invite_form(reseller="fabrikam"),
            team=PROVIDER_TEAM,
            user=PROVIDER_USER,
        )
        # Answered while the lock is still held: the modal closes (an empty acknowledgement).
        assert ack == {}
        assert not bot.slack.calls("chat.postMessage")  # the invitation is not written yet
    posted = bot.slack.wait_for("chat.postMessage", timeout=30)  # done once the lock is free
    assert "Woodgrove Bank" in str(posted[0].params)


def _preference(bot: BotHarness, user: str) -> str | None:
    path = bot.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT lang FROM language_preferences WHERE scope = 'user' AND subject_id = ?",
            (user,),
        ).fetchone()
    return row[0] if row else None


def _wait_for_preference(bot: BotHarness, user: str, lang: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _preference(bot, user) != lang:
        assert time.monotonic() < deadline, f"{user}'s language never became {lang}"
        time.sleep(0.05)


def test_a_language_choice_is_answered_while_the_write_lock_is_held_then_saved(
    bot: BotHarness,
) -> None:
    with write_lock_held(bot):
        answer = ack_json(bot.command("language es", user_id="U0JOHN0001", team_id=PROVIDER_TEAM))
        # answered (in the language chosen) while the lock is still held, nothing saved yet
        assert "A partir de ahora te respondo en español" in answer["text"]
        assert _preference(bot, "U0JOHN0001") is None
    _wait_for_preference(bot, "U0JOHN0001", "es")
    assert not bot.slack.calls("response_url")  # saved: no failure to report


def test_a_language_choice_the_database_refuses_is_reported_not_taken_for_saved(
    bot: BotHarness,
) -> None:
    # the write gives up after the busy timeout while the lock is held throughout
    with write_lock_held(bot):
        answer = ack_json(bot.command("language es", user_id="U0JOHN0001", team_id=PROVIDER_TEAM))
        assert "español" in answer["text"]
        told = bot.slack.wait_for("response_url", timeout=30)
    assert "No pude guardar tu idioma" in str(told[0].params)
    assert _preference(bot, "U0JOHN0001") is None


def test_a_workspace_edition_is_answered_while_the_write_lock_is_held_then_saved(
    bot: BotHarness,
) -> None:
    path = bot.database_url.removeprefix("sqlite:///")

    def saved() -> str | None:
        with sqlite3.connect(path) as db:
            row = db.execute(
                "SELECT edition FROM workspace_editions WHERE team_id = ?", (PROVIDER_TEAM,)
            ).fetchone()
        return row[0] if row else None

    with write_lock_held(bot):
        answer = ack_json(
            bot.command("edition 2017-03", user_id="U0PROVADMIN", team_id=PROVIDER_TEAM)
        )
        assert "now answers with policy edition `2017-03`" in answer["text"]
        assert saved() is None
    deadline = time.monotonic() + 30
    while saved() != "2017-03":
        assert time.monotonic() < deadline, "the workspace's edition was never saved"
        time.sleep(0.05)
