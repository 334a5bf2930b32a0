"""Slack installations at rest: slack_sdk's SQLAlchemy installation store with its tokens
encrypted (bot/core/store/secrets.py: Fernet, `ENCRYPTION_KEYS`).

slack_sdk's `SQLAlchemyInstallationStore` writes and reads its own tables
(`slack_installations`, `slack_bots`; created by migration 0007). `EncryptedInstallationStore`
is that store, unchanged, with the token fields of what it saves encrypted and of what it finds
decrypted: nothing else of slack_sdk is replaced. A stored token reads `enc:` + a Fernet token;
a value without that prefix is a plaintext token (stored before encryption was configured) and
is read as it is, until `mcbot secrets reencrypt` encrypts it.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from bot.core.store.models import SLACK_TOKEN_COLUMNS
from bot.core.store.secrets import TokenCipher

T = TypeVar("T", Installation, Bot)


def _with_tokens(entity: T, change: Any) -> T:
    changed = copy.copy(entity)
    for name in SLACK_TOKEN_COLUMNS:
        if hasattr(changed, name):
            setattr(changed, name, change(getattr(changed, name)))
    return changed


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, tokens encrypted at rest."""

    def __init__(self, client_id: str, engine: Engine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.cipher = cipher

    def save(self, installation: Installation) -> None:
        super().save(_with_tokens(installation, self.cipher.encrypt))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(_with_tokens(bot, self.cipher.encrypt))

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if bot is None else _with_tokens(bot, self.cipher.decrypt)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        # slack_sdk may have copied the (already decrypted) bot fields from find_bot() into it;
        # decrypt() leaves a plaintext value as it is.
        return None if found is None else _with_tokens(found, self.cipher.decrypt)
