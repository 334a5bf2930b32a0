"""Every secret the bot keeps in its database, encrypted at rest with one mechanism.

`ENCRYPTION_KEYS` is a comma-separated list of Fernet keys: the first encrypts, every key
decrypts (cryptography's MultiFernet). A stored secret reads `enc:` + a Fernet token; a value
without that prefix is a plaintext value stored before encryption was configured, read as it
is until `reencrypt_all` (the `mcbot` key-rotation command) encrypts it.

`SECRET_COLUMNS` names every column that holds a secret (docs/secrets.md lists them with their
meaning): re-encryption after a key rotation walks exactly these, so a new secret column is
added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, Table, bindparam, select, update

from bot.core.store.models import (
    SLACK_BOTS,
    SLACK_INSTALLATIONS,
    SLACK_TOKEN_COLUMNS,
    PartnerCenterConnection,
    PartnerCenterConnectState,
)

PREFIX = "enc:"
KEY_HINT = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class EncryptionKeyError(ValueError):
    """ENCRYPTION_KEYS is malformed; the message says how, never the key."""


class TokenUnreadable(Exception):
    """A stored secret that no key in ENCRYPTION_KEYS decrypts (a key removed too early)."""


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
                    f"bytes; {KEY_HINT})"
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
                "a stored secret cannot be decrypted with any key in ENCRYPTION_KEYS "
                "(keep the old key in the list until `mcbot secrets reencrypt` has run)"
            ) from None

    def reencrypt(self, value: str | None) -> str | None:
        """The value encrypted with the first key (a plaintext value is encrypted)."""
        if value is None:
            return None
        if not value.startswith(PREFIX):
            return self.encrypt(value)
        try:
            rotated = self._fernet.rotate(value[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            raise TokenUnreadable(
                "a stored secret cannot be decrypted with any key in ENCRYPTION_KEYS"
            ) from None
        return PREFIX + rotated.decode("ascii")


@dataclass(frozen=True)
class SecretColumns:
    """The secret columns of one table, and its integer primary key (walked in order)."""

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
]


def reencrypt_all(engine: Engine, cipher: TokenCipher, *, batch: int = 500) -> dict[str, int]:
    """Encrypt every stored secret (`SECRET_COLUMNS`) with the first key of `cipher` (after a
    key rotation, or to encrypt values stored in plaintext), in one transaction (all or
    nothing), `batch` rows at a time. Returns rows per `what`; secrets are never returned."""
    counts: dict[str, int] = {}
    with engine.begin() as connection:  # all or nothing
        for spec in SECRET_COLUMNS:
            table, key = spec.table, spec.table.c[spec.key]
            columns = [table.c[name] for name in spec.columns]
            changed = 0
            last = None
            while True:
                query = select(key, *columns).order_by(key).limit(batch)
                if last is not None:
                    query = query.where(key > last)
                rows = connection.execute(query).all()
                if not rows:
                    break
                params = [
                    {"row_key": row[0]}
                    | {f"new_{c.name}": cipher.reencrypt(row._mapping[c.name]) for c in columns}
                    for row in rows
                ]
                statement = (
                    update(table)
                    .where(key == bindparam("row_key"))
                    .values({col.name: bindparam(f"new_{col.name}") for col in columns})
                )
                connection.execute(statement, params)  # one executemany per batch
                changed += len(rows)
                last = rows[-1][0]
            counts[spec.what] = changed
    return counts
