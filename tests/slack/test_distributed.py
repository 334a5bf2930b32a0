"""Distributed mode: each workspace installs the app through Bolt's OAuth flow
(/slack/install → Slack → /slack/oauth_redirect); tokens live encrypted in slack_sdk's
installation store in our database; every call goes out with its own workspace's token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.core.store.models import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES
from bot.testkit.harness import CLIENT_ID, CLIENT_SECRET, BotHarness, ack_json, install_state

PROVIDER, RESELLER = "T0PROVIDER", "T0RESELLER"


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    with BotHarness(distributed=True) as harness:
        for team, name, user in (
            (PROVIDER, "Contoso", "U0PROVIUSR"),
            (RESELLER, "Fabrikam", "U0RESELUSR"),
        ):
            harness.slack.add_team(team, name=name).set_user(user, team_id=team)
        yield harness


def _rows(bot: BotHarness, table: object) -> list[dict[str, object]]:
    with bot.services.sessions() as session:
        return [dict(r._mapping) for r in session.execute(select(table))]  # type: ignore[call-overload]


def test_install_page_and_result_pages_in_english_and_spanish(bot: BotHarness) -> None:
    english = bot.http.get(f"{bot.url}/slack/install")
    assert english.status_code == 200 and "text/html" in english.headers["content-type"]
    assert "Add to Slack" in english.text and 'lang="en"' in english.text
    link_state = install_state(english.text)
    assert f"client_id={CLIENT_ID}" in english.text and "scope=commands,chat:write," in english.text
    assert english.cookies.get("slack-app-oauth-state") == link_state or (
        f"slack-app-oauth-state={link_state}" in english.headers["set-cookie"]
    )
    spanish = bot.http.get(f"{bot.url}/slack/install", headers={"accept-language": "es-ES,es"})
    assert 'lang="es"' in spanish.text and "Añadir a Slack" in spanish.text


def test_each_workspace_installs_and_its_token_is_stored_encrypted(bot: BotHarness) -> None:
    done = bot.install(PROVIDER, "U0PROVIUSR")
    assert done.status_code == 200, done.text
    assert "Multichannel is installed" in done.text and "Contoso" in done.text
    access = bot.slack.last("oauth.v2.access")
    assert access.params["code"].startswith(f"code-{PROVIDER}")
    assert bot.install(RESELLER, "U0RESELUSR").status_code == 200

    tokens = {team: bot.slack.tokens_of(team) for team in (PROVIDER, RESELLER)}
    assert all(len(t) == 1 for t in tokens.values()) and tokens[PROVIDER] != tokens[RESELLER]
    rows = _rows(bot, SLACK_INSTALLATIONS) + _rows(bot, SLACK_BOTS)
    assert {row["team_id"] for row in rows} == {PROVIDER, RESELLER}
    stored = json.dumps(rows, default=str)
    for team_tokens in tokens.values():
        assert team_tokens[0] not in stored  # encrypted at rest
    assert all(str(row["bot_token"]).startswith("enc:") for row in rows)
    assert CLIENT_SECRET not in stored


def test_a_replayed_or_forged_state_is_refused(bot: BotHarness) -> None:
    page = bot.http.get(f"{bot.url}/slack/install")
    state = install_state(page.text)
    cookie = {"cookie": f"slack-app-oauth-state={state}"}
    code = bot.slack.authorization_code(PROVIDER, "U0PROVIUSR")
    first = bot.http.get(
        f"{bot.url}/slack/oauth_redirect", params={"code": code, "state": state}, headers=cookie
    )
    assert first.status_code == 200
    replay = bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": bot.slack.authorization_code(PROVIDER, "U0PROVIUSR"), "state": state},
        headers=cookie,
    )
    assert replay.status_code == 401 and "not valid any more" in replay.text
    forged = "0" * 36
    refused = bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": bot.slack.authorization_code(RESELLER, "U0RESELUSR"), "state": forged},
        headers={"cookie": f"slack-app-oauth-state={forged}"},
    )
    assert refused.status_code == 401
    no_cookie = bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": bot.slack.authorization_code(RESELLER, "U0RESELUSR"), "state": state},
    )
    assert no_cookie.status_code == 400
    # only the first exchange reached Slack; nothing was installed for the reseller
    assert len(bot.slack.calls("oauth.v2.access")) == 1
    assert {row["team_id"] for row in _rows(bot, SLACK_INSTALLATIONS)} == {PROVIDER}
    assert _rows(bot, SLACK_OAUTH_STATES) == []  # the used state is gone


def test_requests_are_answered_with_the_workspaces_own_token(bot: BotHarness) -> None:
    bot.install(PROVIDER, "U0PROVIUSR")
    bot.install(RESELLER, "U0RESELUSR")
    bot.slack.clear()
    answer = ack_json(bot.command("help", team_id=RESELLER, user_id="U0RESELUSR"))
    assert "blocks" in answer
    # the language look-up (users.info) went to Slack with the reseller's own token
    (token,) = bot.slack.tokens_of(RESELLER)
    info = [c for c in bot.slack.calls("users.info")]
    assert info and all(c.headers["authorization"] == f"Bearer {token}" for c in info)
    assert all(c.ok for c in info)


def test_a_workspace_that_did_not_install_gets_nothing_from_another_ones_token(
    bot: BotHarness,
) -> None:
    bot.install(PROVIDER, "U0PROVIUSR")
    bot.slack.clear()
    response = bot.command("help", team_id=RESELLER, user_id="U0RESELUSR")
    assert response.status_code == 200
    told = bot.slack.wait_for("response_url")[-1].params["text"]
    assert "Multichannel is not installed in this Slack workspace" in told
    assert "no está instalada" in told and "reinstall this app" not in told
    # nothing was called with the provider's token on the reseller's behalf
    assert bot.slack.calls("users.info") == []


def test_key_rotation_reencrypts_every_token_and_prints_none(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.fernet import Fernet

    from bot.cli.main import main
    from bot.core.store.installations import EncryptedInstallationStore
    from bot.core.store.secrets import TokenCipher
    from bot.testkit.harness import ENCRYPTION_KEY

    bot.install(PROVIDER, "U0PROVIUSR")
    bot.install(RESELLER, "U0RESELUSR")
    before = {row["id"]: row["bot_token"] for row in _rows(bot, SLACK_BOTS)}
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{new_key},{ENCRYPTION_KEY}")
    assert main(["installations", "reencrypt", "--database-url", bot.database_url]) == 0
    out = capsys.readouterr()
    # an alias of `mcbot secrets reencrypt`: every kind of secret, counted
    assert "Slack installations (bot and user tokens): 2 row(s)" in out.out
    assert "Slack bots (bot tokens): 2 row(s)" in out.out
    after = {row["id"]: row["bot_token"] for row in _rows(bot, SLACK_BOTS)}
    assert after.keys() == before.keys() and all(after[i] != before[i] for i in after)
    # the new key alone reads every token now; the old key alone reads none
    engine = bot.services.sessions.kw["bind"]
    only_new = EncryptedInstallationStore(CLIENT_ID, engine, TokenCipher([new_key]))
    for team in (PROVIDER, RESELLER):
        found = only_new.find_bot(enterprise_id=None, team_id=team)
        assert found is not None and found.bot_token == bot.slack.tokens_of(team)[0]
    assert all(token not in out.out + out.err for t in (PROVIDER, RESELLER)
               for token in bot.slack.tokens_of(t))  # fmt: skip
    assert main(["installations", "list", "--database-url", bot.database_url]) == 0
    listed = capsys.readouterr().out
    assert PROVIDER in listed and "Fabrikam" in listed and "xoxb-" not in listed
    # a wrong key is refused with a message, never the key
    monkeypatch.setenv("ENCRYPTION_KEYS", "wrong-key-value")
    assert main(["installations", "reencrypt", "--database-url", bot.database_url]) == 2
    err = capsys.readouterr().err
    assert "not a Fernet key" in err and "wrong-key-value" not in err


def test_no_token_or_secret_in_any_log_line(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    bot.install(PROVIDER, "U0PROVIUSR")
    bot.command("help", team_id=PROVIDER, user_id="U0PROVIUSR")
    bot.install(RESELLER, "U0NOSUCHUSR")  # the installer is unknown there: still installs
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "oauth.v2.access" in logged or "installed in Slack workspace" in logged
    for team in (PROVIDER, RESELLER):
        for token in bot.slack.tokens_of(team):
            assert token not in logged
    assert CLIENT_SECRET not in logged


def test_redaction_of_token_shaped_text() -> None:
    from bot.core.redact import redact

    line = "body: {'access_token': 'xoxb-123-456-abcDEF', 'refresh_token': 'xoxe-1-abc'}"
    assert "xoxb-123" not in redact(line) and "xoxe-1-abc" not in redact(line)
    assert redact("client_secret=abc123&code=x") == "client_secret=[redacted]&code=[redacted]"
    assert redact("nothing secret here") == "nothing secret here"


def test_token_rotation_refreshes_before_expiry_and_stores_the_new_token(
    bot: BotHarness,
) -> None:
    import asyncio
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from bot.core.installations import Workspace

    bot.slack.token_rotation = True
    bot.install(PROVIDER, "U0PROVIUSR")
    (first,) = bot.slack.tokens_of(PROVIDER)
    assert first.startswith("xoxe.xoxb-")
    # an hour left (Bolt refreshes within 2 hours of expiry): the next use refreshes it
    soon = datetime.utcnow() + timedelta(hours=1)
    with bot.services.sessions.begin() as session:
        for table in (SLACK_INSTALLATIONS, SLACK_BOTS):
            session.execute(update(table).values(bot_token_expires_at=soon))
    bot.services.tokens.installations.cache.clear()
    bot.slack.clear()
    # deferred work (the outbox, copies for the other side) asks for the workspace's token
    token = asyncio.run(bot.services.tokens.bot_token(Workspace(PROVIDER)))
    refresh = bot.slack.last("oauth.v2.access")
    assert refresh.params["grant_type"] == "refresh_token"
    assert token != first and token in bot.slack.tokens_of(PROVIDER)
    stored = _rows(bot, SLACK_BOTS) + _rows(bot, SLACK_INSTALLATIONS)
    assert all(token not in str(row["bot_token"]) for row in stored)  # encrypted
    assert any(row["bot_token_expires_at"] > soon for row in stored)  # type: ignore[operator]
    # requests use the refreshed token; nothing refreshes again while it is fresh
    bot.slack.clear()
    bot.command("help", team_id=PROVIDER, user_id="U0PROVIUSR")
    assert bot.slack.calls("oauth.v2.access") == []
    info = bot.slack.calls("users.info")
    assert info and all(c.headers["authorization"] == f"Bearer {token}" for c in info)
