"""Slack installations at rest: slack_sdk's SQLAlchemy installation store with its tokens
encrypted (Fernet, `ENCRYPTION_KEYS`), and the re-encryption after a key rotation.

slack_sdk's `SQLAlchemyInstallationStore` writes and reads its own tables
(`slack_installations`, `slack_bots`; created by migration 0007). `EncryptedInstallationStore`
is that store, unchanged, with the token fields of what it saves encrypted and of what it finds
decrypted: nothing else of slack_sdk is replaced. A stored token reads `enc:` + a Fernet token;
a value without that prefix is a plaintext token (stored before encryption was configured) and
is read as it is, until `mcbot installations reencrypt` encrypts it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, bindparam, select, update

from bot.core.store.models import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_TOKEN_COLUMNS

PREFIX = "enc:"
T = TypeVar("T", Installation, Bot)


class EncryptionKeyError(ValueError):
    """ENCRYPTION_KEYS is malformed; the message says how, never the key."""


class TokenUnreadable(Exception):
    """A stored token that no key in ENCRYPTION_KEYS decrypts (a key removed too early)."""


class TokenCipher:
    """MultiFernet over `ENCRYPTION_KEYS`: the first key encrypts, every key decrypts."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise EncryptionKeyError("no key given: set ENCRYPTION_KEYS to one or more Fernet keys")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise EncryptionKeyError(
                    f"key number {number} is not a Fernet key (32 url-safe base64-encoded "
                    'bytes; make one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())")'
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_setting(cls, value: str) -> TokenCipher:
        return cls([part for part in value.split(",") if part.strip()])

    def encrypt(self, token: str | None) -> str | None:
        if token is None or token.startswith(PREFIX):
            return token
        return PREFIX + self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value  # plaintext from before encryption, or nothing
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise TokenUnreadable(
                "a stored Slack token cannot be decrypted with any key in ENCRYPTION_KEYS "
                "(keep the old key in the list until `mcbot installations reencrypt` has run)"
            ) from None

    def reencrypt(self, value: str | None) -> str | None:
        """The value encrypted with the first key (a plaintext token is encrypted)."""
        if value is None:
            return None
        if not value.startswith(PREFIX):
            return self.encrypt(value)
        try:
            rotated = self._fernet.rotate(value[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise TokenUnreadable(
                "a stored Slack token cannot be decrypted with any key in ENCRYPTION_KEYS"
            ) from None
        return PREFIX + rotated.decode("ascii")


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


@dataclass(frozen=True)
class Reencrypted:
    installations: int
    bots: int


def reencrypt_all(engine: Engine, cipher: TokenCipher, *, batch: int = 500) -> Reencrypted:
    """Encrypt every stored token with the first key of `cipher` (after a key rotation, or to
    encrypt tokens stored in plaintext), in one transaction (all or nothing), `batch` rows at
    a time. Tokens are never returned or printed: only the counts."""
    counts = []
    with engine.begin() as connection:  # all or nothing
        for table in (SLACK_INSTALLATIONS, SLACK_BOTS):
            columns = [table.c[name] for name in SLACK_TOKEN_COLUMNS if name in table.c]
            changed = 0
            last_id = 0
            while True:
                rows = connection.execute(
                    select(table.c.id, *columns)
                    .where(table.c.id > last_id)
                    .order_by(table.c.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                params = [
                    {"row_id": row.id}
                    | {f"new_{c.name}": cipher.reencrypt(row._mapping[c.name]) for c in columns}
                    for row in rows
                ]
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values({col.name: bindparam(f"new_{col.name}") for col in columns})
                )
                connection.execute(statement, params)  # one executemany per batch
                changed += len(rows)
                last_id = rows[-1].id
            counts.append(changed)
    return Reencrypted(installations=counts[0], bots=counts[1])
