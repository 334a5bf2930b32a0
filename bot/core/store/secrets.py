"""Every secret the bot keeps in its database, encrypted at rest with one mechanism.

`ENCRYPTION_KEYS` is a comma-separated list of Fernet keys: the first encrypts, every key
decrypts (cryptography's MultiFernet). A stored secret reads `enc:` + a Fernet token; a value
without that prefix is a plaintext value stored before encryption was configured, read as it
is until `reencrypt_all` (the `mcbot` key-rotation command) encrypts it.

`SECRET_COLUMNS` names every column that holds a secret (docs/secrets.md lists them with their
meaning): re-encryption after a key rotation (`reencrypt_all`) and the report of which key
each value needs (`secret_status`) walk exactly these, so a new secret column is added here
and nowhere else.

A secret that is also looked up (an organization's webhook URL token) is stored twice: its
SHA-256 (`token_hash`, a unique index, never decrypted) for the lookup and the value itself,
encrypted, for showing it to its owner. The hash is of the plaintext, so re-encryption, which
rewrites only the encrypted column, never changes it.

Without `ENCRYPTION_KEYS` (a single-workspace deployment may leave it unset) `seal` stores a
value in plaintext, readable as it is; once keys are set, `mcbot secrets reencrypt` encrypts it.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy import Connection, Engine, Row, Table, bindparam, select, update

from bot.core.store.models import (
    SLACK_BOTS,
    SLACK_INSTALLATIONS,
    SLACK_TOKEN_COLUMNS,
    Organization,
    PartnerCenterConnection,
    PartnerCenterConnectState,
)

PREFIX = "enc:"
KEY_HINT = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


SECRETS_DIR = "SECRETS_DIR"  # an environment variable only: where settings files are


class SettingsBase(BaseSettings):
    """The base of every settings class: a setting comes from the environment, else the `.env`
    file, else a file named after it (any case) in the directory the SECRETS_DIR environment
    variable names, e.g. /run/secrets/slack_bot_token for SLACK_BOT_TOKEN (docs/secrets.md)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        folder = os.environ.get(SECRETS_DIR, "").strip()
        if not folder:
            return init_settings, env_settings, dotenv_settings
        files = SecretsSettingsSource(settings_cls, secrets_dir=folder)
        return init_settings, env_settings, dotenv_settings, files


class EncryptionKeyError(ValueError):
    """ENCRYPTION_KEYS is malformed; the message says how, never the key."""


class TokenUnreadable(Exception):
    """A stored secret that no key in ENCRYPTION_KEYS decrypts (a key removed too early)."""


class KeyState(enum.StrEnum):
    """Which key a stored value needs (`mcbot secrets status`)."""

    FIRST = "first"  # encrypted with the first key of ENCRYPTION_KEYS
    OLDER = "older"  # encrypted with a later key: run `mcbot secrets reencrypt`
    PLAINTEXT = "plaintext"  # stored before ENCRYPTION_KEYS was set
    UNREADABLE = "unreadable"  # no key in ENCRYPTION_KEYS decrypts it (or none is set)


if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet


class TokenCipher:
    """MultiFernet over `ENCRYPTION_KEYS`: the first key encrypts, every key decrypts.
    (cryptography, ~7 MB of memory with OpenSSL, is imported only when a key is set.)"""

    def __init__(self, keys: Sequence[str]) -> None:
        from cryptography.fernet import Fernet, InvalidToken, MultiFernet

        self._invalid = InvalidToken
        if not keys:
            raise EncryptionKeyError("no key given: set ENCRYPTION_KEYS to one or more Fernet keys")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise EncryptionKeyError(
                    f"key number {number} is not a Fernet key (32 url-safe base64-encoded "
                    f"bytes; {KEY_HINT})"
                ) from None
        self._first: Fernet = fernets[0]
        self._fernet: MultiFernet = MultiFernet(fernets)

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
        except self._invalid:
            raise TokenUnreadable(
                "a stored secret cannot be decrypted with any key in ENCRYPTION_KEYS "
                "(keep the old key in the list until `mcbot secrets reencrypt` has run)"
            ) from None

    def state(self, value: str) -> KeyState:
        """Which key `value` (a stored, non-NULL value) needs."""
        if not value.startswith(PREFIX):
            return KeyState.PLAINTEXT
        token = value[len(PREFIX) :].encode("ascii")
        for fernet, state in ((self._first, KeyState.FIRST), (self._fernet, KeyState.OLDER)):
            try:
                fernet.decrypt(token)
            except self._invalid:
                continue
            return state
        return KeyState.UNREADABLE

    def reencrypt(self, value: str | None) -> str | None:
        """The value encrypted with the first key (a plaintext value is encrypted)."""
        if value is None:
            return None
        if not value.startswith(PREFIX):
            return self.encrypt(value)
        try:
            rotated = self._fernet.rotate(value[len(PREFIX) :].encode("ascii"))
        except self._invalid:
            raise TokenUnreadable(
                "a stored secret cannot be decrypted with any key in ENCRYPTION_KEYS"
            ) from None
        return PREFIX + rotated.decode("ascii")


def token_hash(token: str) -> str:
    """The lookup key of a secret that is found by its value (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def seal(cipher: TokenCipher | None, value: str) -> str:
    """`value` as it is stored: encrypted with the first key, or, without ENCRYPTION_KEYS,
    in plaintext (encrypted by `mcbot secrets reencrypt` once keys are set)."""
    return value if cipher is None else cipher.encrypt(value) or value


def unseal(cipher: TokenCipher | None, value: str) -> str:
    """A stored value in plaintext; TokenUnreadable when it is encrypted and no key reads it."""
    if cipher is not None:
        return cipher.decrypt(value) or value
    if value.startswith(PREFIX):
        raise TokenUnreadable(
            "a stored secret is encrypted and ENCRYPTION_KEYS is not set (set it to the keys "
            "it was encrypted with)"
        )
    return value


@dataclass(frozen=True)
class SecretColumns:
    """The secret columns of one table, and its integer primary key (walked in order). A
    lookup hash of a secret (`token_hash`) is not listed: it stays as it is when the secret
    is re-encrypted."""

    what: str  # what the secrets are, for counts and docs/secrets.md ("Slack bot tokens")
    table: Table
    key: str
    columns: tuple[str, ...]


SECRET_COLUMNS: list[SecretColumns] = [
    SecretColumns(
        "Slack installations",
        SLACK_INSTALLATIONS,
        "id",
        tuple(n for n in SLACK_TOKEN_COLUMNS if n in SLACK_INSTALLATIONS.c),
    ),
    SecretColumns(
        "Slack bots", SLACK_BOTS, "id", tuple(n for n in SLACK_TOKEN_COLUMNS if n in SLACK_BOTS.c)
    ),
    SecretColumns(
        "Partner Center connections",
        PartnerCenterConnection.__table__,  # type: ignore[arg-type]
        "id",
        ("refresh_token", "client_secret"),
    ),
    SecretColumns(
        "Partner Center connect states",
        PartnerCenterConnectState.__table__,  # type: ignore[arg-type]
        "id",
        ("verifier",),
    ),
    # looked up by organizations.webhook_token_hash (bot/core/outbox/routing.py)
    SecretColumns(
        "Partner Center webhook URL tokens",
        Organization.__table__,  # type: ignore[arg-type]
        "id",
        ("webhook_token",),
    ),
]


def _rows(connection: Connection, spec: SecretColumns, batch: int) -> Iterator[list[Row[Any]]]:
    """The rows of `spec`'s table (primary key, then its secret columns), `batch` at a time,
    in primary key order."""
    key = spec.table.c[spec.key]
    columns = [spec.table.c[name] for name in spec.columns]
    last = None
    while True:
        query = select(key, *columns).order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1][0]


def reencrypt_all(engine: Engine, cipher: TokenCipher, *, batch: int = 500) -> dict[str, int]:
    """Encrypt every stored secret (`SECRET_COLUMNS`) with the first key of `cipher` (after a
    key rotation, or to encrypt values stored in plaintext), in one transaction (all or
    nothing), `batch` rows at a time. Returns rows per `what`; secrets are never returned."""
    counts: dict[str, int] = {}
    with engine.begin() as connection:  # all or nothing
        for spec in SECRET_COLUMNS:
            table, key = spec.table, spec.table.c[spec.key]
            statement = (
                update(table)
                .where(key == bindparam("row_key"))
                .values({name: bindparam(f"new_{name}") for name in spec.columns})
            )
            changed = 0
            for rows in _rows(connection, spec, batch):
                params = [
                    {"row_key": row[0]}
                    | {f"new_{name}": cipher.reencrypt(row._mapping[name]) for name in spec.columns}
                    for row in rows
                ]
                connection.execute(statement, params)  # one executemany per batch
                changed += len(rows)
            counts[spec.what] = changed
    return counts


def _state(cipher: TokenCipher | None, value: str) -> KeyState:
    if cipher is not None:
        return cipher.state(value)
    return KeyState.UNREADABLE if value.startswith(PREFIX) else KeyState.PLAINTEXT


def secret_status(
    engine: Engine, cipher: TokenCipher | None, *, batch: int = 500
) -> dict[str, Counter[KeyState]]:
    """How many stored values of each `what` need which key (NULL values are not counted);
    without a cipher (ENCRYPTION_KEYS unset) every encrypted value is unreadable. Reads only."""
    status: dict[str, Counter[KeyState]] = {}
    with engine.connect() as connection:
        for spec in SECRET_COLUMNS:
            counts: Counter[KeyState] = Counter()
            for rows in _rows(connection, spec, batch):
                values = [str(v) for row in rows for v in tuple(row)[1:] if v is not None]
                counts.update(_state(cipher, value) for value in values)
            status[spec.what] = counts
    return status
