"""Settings, read from the environment (and an optional `.env` file) by pydantic-settings.

Every setting is documented in docs/settings.md. Groups are separate classes so that a command
only demands what it needs: `mcbot db upgrade` needs no Slack token.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///multichannel.sqlite3"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class DatabaseSettings(_Base):
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. Default: a SQLite file in the working directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )


class SlackSettings(_Base):
    slack_signing_secret: SecretStr = Field(
        description="Basic Information → App Credentials → Signing Secret"
    )
    slack_bot_token: SecretStr = Field(
        description="OAuth & Permissions → Bot User OAuth Token (xoxb-...)"
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="Basic Information → App-Level Tokens, scope connections:write (xapp-...); "
        "only for Socket Mode",
    )
    slack_api_url: str = Field(
        default=DEFAULT_SLACK_API_URL,
        description="Slack Web API base URL; point it at a local stand-in for tests",
    )


class BotSettings(_Base):
    invitation_expiry_days: int = Field(
        default=30, ge=1, le=365, description="Days after which an unaccepted invitation expires"
    )
    maintenance_interval_seconds: int = Field(
        default=3600,
        ge=10,
        description="How often `mcbot serve` expires old invitations and updates their messages",
    )
