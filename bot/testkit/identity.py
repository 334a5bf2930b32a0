"""Who the stand-in workspace is: ids shared by the Web API stand-in and the payload builders."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TEAM_ID = "T0MCTEST01"
DEFAULT_TEAM_DOMAIN = "multichannel-test"
DEFAULT_TEAM_NAME = "Multichannel Test"
DEFAULT_BOT_USER_ID = "U0MCBOT001"
DEFAULT_BOT_ID = "B0MCBOT001"
DEFAULT_APP_ID = "A0MCAPP001"
DEFAULT_USER_ID = "U0MCUSER01"
DEFAULT_USER_NAME = "alex"
DEFAULT_CHANNEL_ID = "C0MCDESK01"
DEFAULT_CHANNEL_NAME = "partner-desk"
DEFAULT_TOKEN = "xoxb-testkit-token"
DEFAULT_SCOPES = (
    "app_mentions:read,channels:read,chat:write,commands,groups:read,im:history,"
    "im:read,im:write,users:read"
)


@dataclass(frozen=True)
class Team:
    """The workspace the bot is installed in, as `auth.test` describes it."""

    id: str = DEFAULT_TEAM_ID
    name: str = DEFAULT_TEAM_NAME
    domain: str = DEFAULT_TEAM_DOMAIN
    bot_user_id: str = DEFAULT_BOT_USER_ID
    bot_id: str = DEFAULT_BOT_ID
    app_id: str = DEFAULT_APP_ID
    bot_name: str = "multichannel"
    scopes: str = DEFAULT_SCOPES
    enterprise_id: str | None = None  # a workspace of an Enterprise Grid organization

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"
