"""The HTTP layer in front of Bolt (bot/http/asgi.py): body parsing, limits, routing, the decision
acknowledgement, the batched decision log."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import pytest

from bot.core.ui.metadata import DecisionRef, load
from bot.http.slack_request import parse_form
from bot.testkit.harness import BotHarness


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """`check()`'s first truthy result (the decision log is written off the request path)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


FORMS = [
    "",
    "a=1",
    "a=1&b=2&a=3",  # repeated: the last wins, as dict(parse_qsl(...))
    "text=assess+ea%3Alicense+as+direct",
    "text=a%2Bb+c",  # an encoded plus is a plus, a plain plus a space
    "flag&empty=&=nameless",  # no '=', empty value, empty name
    "&&a=1&&",  # empty pairs are skipped
    "na%20me=v%26alue%3D",  # encoded name, encoded '&' and '=' in a value
    "text=%E2%9C%93+caf%C3%A9+%F0%9F%9A%80",  # UTF-8
    "bad=%ZZ%4",  # malformed escapes stay as they are
    "payload=%7B%22type%22%3A%22block_actions%22%7D",
    "text=%FF%FE",  # invalid UTF-8: replaced, never an exception
]


@pytest.mark.parametrize("raw", FORMS)
def test_parse_form_is_parse_qsl(raw: str) -> None:
    assert parse_form(raw) == dict(parse_qsl(raw, keep_blank_values=True))


def test_parse_form_round_trips_whatever_a_user_types() -> None:
    typed = "assess ea:license & <b>@channel</b> 100% + más ✓ = ?"
    assert parse_form(f"text={quote_plus(typed)}&user_id=U1") == {"text": typed, "user_id": "U1"}


def test_the_assess_acknowledgement_is_json_with_the_logged_decision_id(bot: BotHarness) -> None:
    from bot.core.store.decisions import get_decision

    response = bot.command("assess ea:license as direct", user_id="U0ACKJSON1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()
    assert set(message) == {"response_type", "text", "blocks"}
    assert message["response_type"] == "ephemeral"
    blocks = json.dumps(message["blocks"])
    share = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "share_decision"
    )
    decision_id = load(DecisionRef, share["value"]).decision_id
    assert decision_id in blocks and "standin" not in blocks  # shown to the user

    def logged() -> Any:
        with bot.services.sessions.begin() as session:
            record = get_decision(session, decision_id)
            return record and (record.user_id, record.outcome)

    assert eventually(logged) == ("U0ACKJSON1", "supported")


def test_every_decision_of_a_burst_is_logged_once(bot: BotHarness) -> None:
    from bot.core.store.decisions import recent_decisions

    for _ in range(30):
        assert bot.command("assess open:usage as direct", user_id="U0BURST001").is_success

    def logged() -> Any:
        with bot.services.sessions.begin() as session:
            records = recent_decisions(session, "U0BURST001", limit=100)
        return records if len(records) >= 30 else None

    records = eventually(logged)
    time.sleep(0.2)  # nothing more comes
    with bot.services.sessions.begin() as session:
        assert len(recent_decisions(session, "U0BURST001", limit=100)) == 30
    assert len({r.decision_id for r in records}) == 30
    assert all(r.facts["subscriptions"] == [{"source": "open", "kind": "usage"}] for r in records)


def test_slack_events_routing(bot: BotHarness) -> None:
    url = f"{bot.url}/slack/events"
    assert bot.http.get(url).status_code == 405
    assert bot.http.post(f"{bot.url}/slack/event").status_code == 404
    assert bot.http.post(url, content=b"command=%2Fmultichannel").status_code == 401  # unsigned


def test_a_body_too_large_without_content_length_is_refused(bot: BotHarness) -> None:
    def chunks():  # chunked transfer: no Content-Length to refuse it early
        for _ in range(17):
            yield b"x" * 65536

    # headers shaped like a signature, so the body is read (up to the limit) to check it
    forged = {
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    response = bot.http.post(f"{bot.url}/slack/events", content=chunks(), headers=forged)
    assert response.status_code == 413


async def test_drain_writes_the_pending_decision_log(tmp_path: Any) -> None:
    """Shutdown (the ASGI lifespan) drains: a decision made just before is not lost."""
    from bot.core.services import Services
    from bot.core.store.decisions import recent_decisions
    from policy import Facts, Role, Subscription, evaluate

    services = Services.from_url(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    facts = Facts(role=Role.direct, subscriptions=[Subscription(source="ea", kind="license")])
    for _ in range(3):
        services.log_decision(evaluate(facts), user_id="U0DRAIN001", team_id="T0", customer="C")
    # (the log's thread may have written some already: it starts writing at once)
    await services.drain()
    with services.sessions.begin() as session:
        records = recent_decisions(session, "U0DRAIN001")
    assert [r.customer_name for r in records] == ["C", "C", "C"]
    assert all(r.org_id is None and r.team_id == "T0" for r in records)


def test_readyz_asked_often_costs_at_most_one_check_of_each_kind(bot: BotHarness) -> None:
    """/readyz is unauthenticated: its answers are kept, so a flood of probes does not turn
    into a flood of database writes or of auth.test calls."""
    from sqlalchemy import event

    engine = bot.services.sessions.kw["bind"]
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ALEMBIC_VERSION"):
            writes.append(statement)

    bot.slack.reset()
    event.listen(engine, "before_cursor_execute", count)
    try:
        answers = {bot.http.get(f"{bot.url}/readyz").status_code for _ in range(20)}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answers == {200}
    assert len(writes) <= 1
    assert len(bot.slack.calls("auth.test")) <= 1
