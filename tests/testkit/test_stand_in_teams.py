"""The stand-in across workspaces: each team has its own tokens, channels, users and views;
another team's token is refused as Slack refuses it; Slack Connect channels are shared
explicitly; `oauth.v2.access` installs the app in a team, once per code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.testkit import SlackStandIn

A, B = "T0TEAMAAA1", "T0TEAMBBB1"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(tokens=[]) as stand_in:  # no default token: only the teams'
        stand_in.add_team(A, name="Alpha", token="xoxb-alpha").set_user("U0ALPHA001", team_id=A)
        stand_in.team_workspace(A).set_channel("C0ALPHA001", name="alpha")
        stand_in.add_team(B, name="Beta", token="xoxb-beta").set_user("U0BETA0001", team_id=B)
        stand_in.team_workspace(B).set_channel("C0BETA0001", name="beta")
        yield stand_in


def web(slack: SlackStandIn, token: str) -> WebClient:
    return WebClient(token=token, base_url=slack.base_url, timeout=5)


def error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value.response["error"])


def test_auth_test_answers_with_the_tokens_team(slack: SlackStandIn) -> None:
    assert web(slack, "xoxb-alpha").auth_test()["team_id"] == A
    assert web(slack, "xoxb-beta").auth_test()["team_id"] == B
    assert error(lambda: web(slack, "xoxb-nobody").auth_test()) == "invalid_auth"


def test_another_teams_channel_or_user_does_not_exist_for_a_token(slack: SlackStandIn) -> None:
    alpha = web(slack, "xoxb-alpha")
    assert alpha.chat_postMessage(channel="C0ALPHA001", text="hi")["ok"]
    assert error(lambda: alpha.chat_postMessage(channel="C0BETA0001", text="x")) == (
        "channel_not_found"
    )
    assert error(lambda: alpha.users_info(user="U0BETA0001")) == "user_not_found"
    assert error(lambda: alpha.conversations_open(users="U0BETA0001")) == "user_not_found"
    # nothing is created on first mention in a team
    assert error(lambda: alpha.chat_postMessage(channel="C0NEVERSET", text="x")) == (
        "channel_not_found"
    )
    assert slack.team_workspace(B).messages("C0BETA0001") == []


def test_a_revoked_team_answers_token_revoked(slack: SlackStandIn) -> None:
    slack.revoke_team(B)
    assert error(lambda: web(slack, "xoxb-beta").auth_test()) == "token_revoked"
    assert web(slack, "xoxb-alpha").auth_test()["ok"]


def test_a_shared_channel_is_seen_and_used_by_both_teams(slack: SlackStandIn) -> None:
    slack.share_channel("C0ALPHA001", A, B)
    posted = web(slack, "xoxb-beta").chat_postMessage(channel="C0ALPHA001", text="from beta")
    assert [m["text"] for m in slack.messages("C0ALPHA001")] == ["from beta"]
    assert web(slack, "xoxb-alpha").chat_update(
        channel="C0ALPHA001", ts=posted["ts"], text="edited by alpha"
    )["ok"]
    assert slack.message("C0ALPHA001", posted["ts"])["text"] == "edited by alpha"  # type: ignore[index]
    # not shared the other way: Beta's own channel stays Beta's
    with pytest.raises(SlackApiError):
        web(slack, "xoxb-alpha").chat_postMessage(channel="C0BETA0001", text="x")


def test_oauth_v2_access_installs_once_per_code_with_the_apps_credentials(
    slack: SlackStandIn,
) -> None:
    slack.set_app_credentials("111.222", "secret")
    code = slack.authorization_code(A, "U0ALPHA001")
    anonymous = WebClient(base_url=slack.base_url, timeout=5)
    wrong = lambda: anonymous.oauth_v2_access(  # noqa: E731
        client_id="111.222", client_secret="nope", code=code
    )
    assert error(wrong) == "invalid_client_id"
    answer = anonymous.oauth_v2_access(client_id="111.222", client_secret="secret", code=code)
    assert answer["team"]["id"] == A and answer["authed_user"]["id"] == "U0ALPHA001"
    token = answer["access_token"]
    assert web(slack, token).auth_test()["team_id"] == A
    again = lambda: anonymous.oauth_v2_access(  # noqa: E731
        client_id="111.222", client_secret="secret", code=code
    )
    assert error(again) == "invalid_code"


def test_a_workspace_of_an_enterprise_grid_org(slack: SlackStandIn) -> None:
    """`auth.test` names the enterprise; a Grid user's `users.info` carries `enterprise_user`
    (its organization, its workspaces, whether it is an org admin); a workspace outside Grid
    has neither."""
    grid = slack.add_team("T0GRIDWS01", name="Grid", token="xoxb-grid", enterprise_id="E0GRID0001")
    grid.set_user(
        "W0GRIDUSR1", team_id="T0GRIDHOME", enterprise_id="E0GRID0001",
        enterprise_teams=("T0GRIDHOME", "T0GRIDWS01"), is_org_admin=True,
    )  # fmt: skip
    client = web(slack, "xoxb-grid")
    assert client.auth_test()["enterprise_id"] == "E0GRID0001"
    user = client.users_info(user="W0GRIDUSR1")["user"]
    assert user["team_id"] == "T0GRIDHOME" and user["is_admin"] is False
    assert user["enterprise_user"]["enterprise_id"] == "E0GRID0001"
    assert user["enterprise_user"]["teams"] == ["T0GRIDHOME", "T0GRIDWS01"]
    assert user["enterprise_user"]["is_admin"] is True
    alpha = web(slack, "xoxb-alpha")
    assert "enterprise_id" not in alpha.auth_test().data
    assert "enterprise_user" not in alpha.users_info(user="U0ALPHA001")["user"]
