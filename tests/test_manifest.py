"""manifest.yml: valid against Slack's official schema, and says what the bot needs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "manifest.yml"  # distributed mode (each workspace installs the app)
SINGLE = REPO / "manifest.single-workspace.yml"  # one workspace, SLACK_BOT_TOKEN
MANIFESTS = {"distributed": MANIFEST, "single": SINGLE}
# CI checks out the shared specs beside the repository.
SCHEMA = REPO.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

EXPECTED_BOT_SCOPES = {
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "im:write",
    # a notification channel is checked before it is saved (bot/core/org_admin.py)
    "channels:read",
    "groups:read",
    # exactly-once notifications after a crash (bot/core/outbox/sender.py reads its own messages)
    "channels:history",
    "groups:history",
    "im:history",
}


@pytest.fixture(params=sorted(MANIFESTS))
def manifest(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each manifest: every test below holds for both."""
    loaded = yaml.safe_load(MANIFESTS[request.param].read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    loaded["_mode"] = request.param  # removed before validation
    return loaded


@pytest.fixture
def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA.is_file():
        pytest.skip(f"Slack manifest schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator: jsonschema.Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    found = validator.iter_errors({k: v for k, v in manifest.items() if k != "_mode"})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def test_manifest_is_valid_against_slacks_schema(
    validator: jsonschema.Draft7Validator, manifest: dict[str, Any]
) -> None:
    assert errors(validator, manifest) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m: m["settings"].update(socket_mode=True), "Additional properties"),
        (lambda m: m["features"]["slash_commands"][0].pop("description"), "'description'"),
        (lambda m: m["features"]["slash_commands"][0].update(command="multichannel"), "match"),
        (lambda m: m["display_information"].update(long_description="Too short."), "short"),
        (lambda m: m["display_information"].update(description="x" * 141), "long"),
        (lambda m: m["settings"]["interactivity"].pop("is_enabled"), "'is_enabled'"),
    ],
    ids=[
        "unknown key",
        "command without description",
        "command without slash",
        "short long_description",
        "description over 140",
        "interactivity without is_enabled",
    ],
)
def test_schema_rejects_a_broken_manifest(
    validator: jsonschema.Draft7Validator,
    manifest: dict[str, Any],
    change: Any,
    fragment: str,
) -> None:
    broken = copy.deepcopy(manifest)
    change(broken)
    found = errors(validator, broken)
    assert found, "the schema accepted a broken manifest"
    assert any(fragment in e for e in found), found


def test_slash_command(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/multichannel"
    assert command["description"]
    assert command["usage_hint"].startswith("[help |")
    assert command["should_escape"] is True


def test_every_request_url_is_bolts_single_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    for url in urls:
        assert url.startswith("https://")
        assert url.endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] is True


def test_events_and_home(manifest: dict[str, Any]) -> None:
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True


def test_scopes_are_exactly_the_minimal_set(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == EXPECTED_BOT_SCOPES


def test_history_scopes_come_without_message_events(manifest: dict[str, Any]) -> None:
    """The history scopes let the outbox look for its own messages after a crash; the bot
    subscribes to no message event, so users' messages are never sent to it."""
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert [e for e in events if e.startswith("message")] == []


@pytest.mark.parametrize("path", sorted(MANIFESTS.values()))
def test_every_scope_has_a_comment_saying_why(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for scope in EXPECTED_BOT_SCOPES:
        (line,) = [x for x in lines if re.match(rf"\s*- {re.escape(scope)}\s", x)]
        assert "#" in line and line.split("#", 1)[1].strip(), line


def test_the_default_scopes_of_an_install_are_the_manifests() -> None:
    from bot.core.settings import MANIFEST_BOT_SCOPES, SlackSettings

    assert set(MANIFEST_BOT_SCOPES) == EXPECTED_BOT_SCOPES
    settings = SlackSettings(_env_file=None, slack_signing_secret="s")
    assert settings.slack_scopes == list(MANIFEST_BOT_SCOPES)


def test_the_two_modes_differ_only_where_they_must(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    redirects = manifest["oauth_config"].get("redirect_urls", [])
    if manifest["_mode"] == "distributed":
        assert {"app_uninstalled", "tokens_revoked"} <= set(events)
        assert redirects == ["https://YOUR-HOST/slack/oauth_redirect"]
        assert manifest["settings"]["token_rotation_enabled"] is True
    else:
        assert events == ["app_home_opened"] and redirects == []
        assert manifest["settings"]["token_rotation_enabled"] is False
    other = yaml.safe_load(SINGLE.read_text(encoding="utf-8"))
    for key in ("display_information", "features"):
        assert manifest[key] == other[key]
    assert manifest["oauth_config"]["scopes"] == other["oauth_config"]["scopes"]


def test_display_information(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert info["name"] == "Multichannel"
    assert manifest["features"]["bot_user"] == {
        "display_name": "multichannel",
        "always_online": True,
    }
    assert 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000  # Slack's schema bounds
    # The schema spells this rule "regex", which JSON Schema ignores, so check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])


def test_settings_flags(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False
