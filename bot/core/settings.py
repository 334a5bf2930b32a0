"""Settings, read from the environment (and an optional `.env` file) by pydantic-settings.

Every setting is documented in docs/settings.md. Groups are separate classes so that a command
only demands what it needs: `mcbot db upgrade` needs no Slack token.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.core.outbox.options import DEFAULT_GDAP_ROLE_IDS
from bot.core.store.secrets import SettingsBase, TokenCipher

DEFAULT_DATABASE_URL = "sqlite:///multichannel.sqlite3"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class DatabaseSettings(SettingsBase):
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. Default: a SQLite file in the working directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )


class PolicySettings(SettingsBase):
    policy_edition: str = Field(
        default="current",
        description="The policy edition used when none is named: a dated edition (2017-03, "
        "2026-11) or `current` (the newest). `mcbot assess --edition` and a workspace's own "
        "edition override it",
    )

    @field_validator("policy_edition")
    @classmethod
    def _known_edition(cls, value: str) -> str:
        from policy import resolve_edition

        resolve_edition(value)  # EditionError (a ValueError) names the valid ones
        return value.strip()


#: The bot scopes of manifest.yml (tests/test_manifest.py keeps them equal): what a workspace
#: grants when it installs the app through /slack/install, unless SLACK_SCOPES says otherwise.
MANIFEST_BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "im:write",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
)


class EncryptionSettings(SettingsBase):
    """The keys of every secret the bot stores in its database (docs/secrets.md)."""

    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys that encrypt every secret stored in the "
        "database (Slack tokens, Partner Center connections, webhook URL tokens; "
        "docs/secrets.md): the first encrypts, all decrypt. Required in distributed mode and to "
        "connect an organization's Partner Center from Slack; without it, the other secrets are "
        "stored in plaintext. "
        "Rotation: put a new key first, run `mcbot secrets reencrypt`, check `mcbot secrets "
        "status`, then drop the old key. Make a key with: python -c "
        '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"',
    )

    def cipher(self) -> TokenCipher | None:
        """The cipher of ENCRYPTION_KEYS, None when it is unset or blank; EncryptionKeyError
        (the message never holds a key) when it is malformed."""
        if self.encryption_keys is None or not self.encryption_keys.get_secret_value().strip():
            return None
        return TokenCipher.from_setting(self.encryption_keys.get_secret_value())


class SlackSettings(EncryptionSettings):
    """Single workspace: SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET. Distributed (each company
    installs the app in its own workspace through /slack/install): SLACK_CLIENT_ID +
    SLACK_CLIENT_SECRET + SLACK_SIGNING_SECRET + ENCRYPTION_KEYS, and no SLACK_BOT_TOKEN."""

    slack_signing_secret: SecretStr = Field(
        description="Basic Information → App Credentials → Signing Secret"
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        description="Single-workspace mode: OAuth & Permissions → Bot User OAuth Token "
        "(xoxb-...). Leave it unset for distributed mode",
    )
    slack_client_id: str | None = Field(
        default=None,
        description="Distributed mode: Basic Information → App Credentials → Client ID. With "
        "SLACK_CLIENT_SECRET and without SLACK_BOT_TOKEN, each workspace installs the app "
        "through GET /slack/install",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        description="Distributed mode: Basic Information → App Credentials → Client Secret",
    )
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(MANIFEST_BOT_SCOPES),
        description="Distributed mode: comma-separated bot scopes a workspace grants when it "
        "installs the app (default: manifest.yml's bot scopes)",
    )
    slack_redirect_uri: str | None = Field(
        default=None,
        description="Distributed mode: the OAuth redirect URL, "
        "https://YOUR-HOST/slack/oauth_redirect; needed only when the app lists more than one "
        "redirect URL (OAuth & Permissions → Redirect URLs)",
    )
    token_cache_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Distributed mode: how long a workspace's installation (its token) is kept "
        "in memory after it was read; an uninstall seen by another replica takes effect here "
        "within this time",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="Basic Information → App-Level Tokens, scope connections:write (xapp-...); "
        "only for Socket Mode",
    )
    slack_api_url: str = Field(
        default=DEFAULT_SLACK_API_URL,
        description="Slack Web API base URL, for every call (oauth.v2.access included); point "
        "it at a local stand-in for tests",
    )

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def distributed(self) -> bool:
        """Distributed mode: client id and secret set, no bot token."""
        return (
            self.slack_bot_token is None
            and self.slack_client_id is not None
            and self.slack_client_secret is not None
        )

    def mode_problems(self) -> list[tuple[str, str]]:
        """(variable, problem) for an incomplete or ambiguous mode; [] when one mode is
        fully configured. Values are never part of a problem."""
        if self.slack_bot_token is not None:
            return []
        if self.slack_client_id is None and self.slack_client_secret is None:
            return [
                (
                    "SLACK_BOT_TOKEN",
                    "set SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID and "
                    "SLACK_CLIENT_SECRET (each workspace installs the app)",
                )
            ]
        problems = []
        if self.slack_client_id is None:
            problems.append(("SLACK_CLIENT_ID", "distributed mode needs the app's client id"))
        if self.slack_client_secret is None:
            problems.append(
                ("SLACK_CLIENT_SECRET", "distributed mode needs the app's client secret")
            )
        if self.encryption_keys is None or not self.encryption_keys.get_secret_value().strip():
            problems.append(
                ("ENCRYPTION_KEYS", "distributed mode stores tokens encrypted: set one key or more")
            )
        return problems


class BotSettings(SettingsBase):
    invitation_expiry_days: int = Field(
        default=30, ge=1, le=365, description="Days after which an unaccepted invitation expires"
    )
    maintenance_interval_seconds: int = Field(
        default=3600,
        ge=10,
        description="How often `mcbot serve` expires old invitations and updates their messages",
    )
    # -- notifications (docs/webhooks.md) ------------------------------------------------
    partner_org_key: str | None = Field(
        default=None,
        description="Directory key of the organization the deployment's Partner Center "
        "credentials belong to: the legacy webhook URL /partner-center/webhooks is its URL "
        "(unmatched acceptances arriving there go to its notification channel), and `mcbot "
        "webhook register --org` registers through those credentials for it only. Every "
        "organization also has its own URL (`mcbot webhook show --org KEY`). Unset: the only "
        "non-reseller organization, if there is one",
    )
    outbox_worker: bool = Field(
        default=True,
        description="Run the notification worker in `mcbot serve` (several processes may run "
        "it on one PostgreSQL database)",
    )
    outbox_lease_seconds: float = Field(
        default=60.0,
        gt=1,
        description="How long a worker owns a claimed notification; a crashed worker's rows are "
        "claimed again after it",
    )
    outbox_max_attempts: int = Field(
        default=8,
        ge=1,
        description="Failed tries (5xx, network errors) before a notification is parked; HTTP 429 "
        "answers do not count",
    )
    outbox_channel_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two messages of one method in one channel, counted from "
        "Slack's answer to the previous one (Slack allows about one a second)",
    )
    outbox_concurrency: int = Field(
        default=64, ge=1, le=512, description="Most notifications one worker sends at once"
    )
    outbox_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often an idle worker looks for work queued by other processes",
    )
    outbox_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description="First retry delay after a failure; doubles each try, with jitter",
    )
    outbox_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest retry delay after a failure"
    )
    gdap_role_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_GDAP_ROLE_IDS),
        description="Comma-separated Entra role definition ids a GDAP relationship asks for "
        "(default: Directory Readers, Helpdesk Administrator)",
    )
    gdap_duration: str = Field(
        default="P730D",
        description="Duration of a requested GDAP relationship (ISO 8601, P1D to P2Y)",
    )

    @field_validator("gdap_role_ids", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
