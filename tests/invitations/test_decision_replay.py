"""`/multichannel decision ID`: a workspace replays its own organization's decisions (who
asked, when, the answer under its edition, and what today's default edition answers), and
nobody else's."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from bot.testkit.flows import DIRECT_TEAM, PROVIDER_TEAM, PROVIDER_USER, RESELLER_TEAM
from bot.testkit.harness import BotHarness, ack_json

ID = re.compile(r"`([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`")


def _replay(bot: BotHarness, decision_id: str, team: str, user: str) -> dict[str, Any]:
    return ack_json(bot.command(f"decision {decision_id}", user_id=user, team_id=team))


def _block_ids(message: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in message.get("blocks", [])]


def test_a_workspace_replays_its_own_decisions_only(bot: BotHarness) -> None:
    answer = ack_json(
        bot.command("assess ea:license", user_id=PROVIDER_USER, team_id=PROVIDER_TEAM)
    )
    footer = next(b for b in answer["blocks"] if b["block_id"] == "footer")
    found = ID.search(footer["elements"][0]["text"])
    assert found
    decision_id = found.group(1)

    deadline = time.monotonic() + 30  # the decision log is written in batches, off the request
    replay = _replay(bot, decision_id, PROVIDER_TEAM, PROVIDER_USER)
    while "replay_about" not in _block_ids(replay):
        assert time.monotonic() < deadline, replay
        time.sleep(0.1)
        replay = _replay(bot, decision_id, PROVIDER_TEAM, PROVIDER_USER)

    ids = _block_ids(replay)
    assert ids[0] == "replay_about" and "replay_today" in ids
    assert "decision_actions" not in ids  # a look-up, not a new answer to act on
    about = replay["blocks"][0]["elements"][0]["text"]
    assert decision_id in about and f"<@{PROVIDER_USER}>" in about and "Contoso" in about
    text = json.dumps(replay, ensure_ascii=False)
    assert "table-license" in text  # the rules and their citations, replayed
    assert replay["response_type"] == "ephemeral"

    # another organization, and a workspace that installed the app but is not in the
    # directory, see nothing of it
    for team, user in (
        (RESELLER_TEAM, "U0RESUSER01"),
        (DIRECT_TEAM, "U0ADATUMUSR"),
        ("T0STRANGER", "U0STRANGER1"),
    ):
        refused = _replay(bot, decision_id, team, user)
        assert "replay_about" not in _block_ids(refused)
        assert f"no decision `{decision_id}`" in refused.get("text", ""), (team, refused)


def test_a_malformed_decision_id_gets_a_precise_answer(bot: BotHarness) -> None:
    answer = ack_json(bot.command("decision 12345", user_id=PROVIDER_USER, team_id=PROVIDER_TEAM))
    assert "`12345` is not a decision id" in answer["text"]
    answer = ack_json(bot.command("decision", user_id=PROVIDER_USER, team_id=PROVIDER_TEAM))
    assert "/multichannel decision ID" in answer["text"]
