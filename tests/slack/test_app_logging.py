"""What the Slack app logs at start: nothing that would alarm an operator for no reason."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.core.services import Services
from bot.core.settings import SlackSettings
from bot.slack.app import build_app


def test_bolt_s_unused_token_warning_is_not_logged_but_its_other_warnings_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, since our client carries
    that token, warned at every start that the token "will be unused"."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    settings = SlackSettings(
        _env_file=None,
        slack_signing_secret="secret",
        slack_bot_token="xoxb-from-the-environment",
        slack_api_url="http://127.0.0.1:9/api/",
    )
    services = Services.from_url(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    caplog.set_level(logging.WARNING, logger="bot.bolt")
    app = build_app(settings, services)
    assert [r.getMessage() for r in caplog.records if r.name == "bot.bolt"] == []
    app.logger.warning("another warning")  # the filter drops that one message only
    assert [r.getMessage() for r in caplog.records if r.name == "bot.bolt"] == ["another warning"]
    build_app(settings, services)  # a second app: still one filter, still quiet
    assert len(logging.getLogger("bot.bolt").filters) == 1
