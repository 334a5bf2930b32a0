"""Slack test kit: a local stand-in for the Slack Web API, and requests signed as Slack signs them.

Used by the end-to-end tests, the benchmarks and `mcbot try`.

    with SlackStandIn() as slack:                       # 127.0.0.1, free port, daemon thread
        client = WebClient(token="xoxb-x", base_url=slack.base_url)
        slack.set_user("U0MARIA001", locale="es-ES")
        slack.rate_limit("chat.postMessage", per_channel_per_second=1.0, burst=1)  # HTTP 429s
        slack.fail_next("views.open", error="expired_trigger_id")
        ...                                             # drive the bot
        slack.wait_for("chat.postMessage", count=2)     # the bot posts asynchronously
        slack.last("chat.postMessage").params["blocks"] # decoded, even from a form body
        slack.stats.ratelimited

    body = slash_command_body(text="help", response_url=slack.response_url())
    headers = sign(SIGNING_SECRET, body)                # then POST body + headers to the app

Faithful to Slack where it matters to a bot: errors for missing arguments, `invalid_auth`,
`message_not_found` on chat.update of an unknown ts, a trigger_id opens one view only,
`users.info` gives `locale` only with `include_locale`, a response_url takes 5 posts.
"""

from bot.testkit.calls import RESPONSE_URL_METHOD, Call, Stats
from bot.testkit.identity import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    Team,
)
from bot.testkit.payloads import (
    app_home_opened_event,
    block_actions_payload,
    event_callback,
    new_event_id,
    new_trigger_id,
    static_select,
    text_input,
    view_submission_payload,
)
from bot.testkit.signing import (
    event_body,
    interactivity_body,
    sign,
    slash_command_body,
    url_verification_body,
)
from bot.testkit.slack_api import SlackStandIn
from bot.testkit.workspace import Channel, User

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_TEAM_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "RESPONSE_URL_METHOD",
    "Call",
    "Channel",
    "SlackStandIn",
    "Stats",
    "Team",
    "User",
    "app_home_opened_event",
    "block_actions_payload",
    "event_body",
    "event_callback",
    "interactivity_body",
    "new_event_id",
    "new_trigger_id",
    "sign",
    "slash_command_body",
    "static_select",
    "text_input",
    "url_verification_body",
    "view_submission_payload",
]
