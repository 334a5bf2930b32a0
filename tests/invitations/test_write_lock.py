"""A write lock held elsewhere (another process in a long SQLite transaction) must not hold up
the answer to Slack: a submitted invitation form is acknowledged at the deadline, while the
lock is still held, and the invitation is created once the lock is free."""

from __future__ import annotations

import sqlite3

from bot.testkit.flows import PROVIDER_TEAM, PROVIDER_USER, invite_form, submit
from bot.testkit.harness import BotHarness


def test_a_form_submitted_while_the_write_lock_is_held_is_acknowledged_then_done(
    bot: BotHarness,
) -> None:
    path = bot.database_url.removeprefix("sqlite:///")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a long transaction elsewhere
    try:
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
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    posted = bot.slack.wait_for("chat.postMessage", timeout=30)  # done once the lock is free
    assert "Woodgrove Bank" in str(posted[0].params)
