"""Secrets at rest (bot/core/store/secrets.py; docs/secrets.md) on SQLite and PostgreSQL: an
organization's webhook URL token is stored encrypted and found by its SHA-256 in one indexed
read; `secret_status` counts which key each value needs; `reencrypt_all` is all or nothing over
every kind and leaves the lookup hashes as they are; settings can come from SECRETS_DIR files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import event, select, text, update

from bot.core.outbox.routing import addressee_by_token
from bot.core.store.directory import import_directory
from bot.core.store.installations import EncryptedInstallationStore
from bot.core.store.models import SLACK_BOTS, Organization
from bot.core.store.secrets import (
    SECRET_COLUMNS,
    KeyState,
    TokenCipher,
    TokenUnreadable,
    reencrypt_all,
    secret_status,
    token_hash,
    unseal,
)
from bot.core.store.testing import Database

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
WEBHOOKS = "Partner Center webhook URL tokens"


def _stored(store: Database) -> dict[str, tuple[str, str]]:
    """(stored token, hash) by organization key."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Organization.key, Organization.webhook_token, Organization.webhook_token_hash)
        ).all()
    return {key: (token, digest) for key, token, digest in rows}


def _import(store: Database, data: dict[str, Any], cipher: TokenCipher | None) -> None:
    with store.factory.begin() as session:
        import_directory(session, data, cipher=cipher)


def test_webhook_tokens_are_stored_encrypted_and_found_by_their_hash_in_one_indexed_read(
    store: Database, example_directory: dict[str, Any]
) -> None:
    cipher = TokenCipher([OLD])
    _import(store, example_directory, cipher)
    stored = _stored(store)
    assert len(stored) == len(example_directory["organizations"])
    plain = {key: cipher.decrypt(token) for key, (token, _) in stored.items()}
    for key, (token, digest) in stored.items():
        assert token.startswith("enc:") and plain[key] not in token
        assert digest == token_hash(plain[key] or "") and len(digest) == 64
    key, token = next(iter(plain.items()))
    assert token is not None
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        with store.factory() as session:
            unknown = addressee_by_token(session, "A" * 32, None)
            assert unknown is None
            assert len(statements) == 1 and "webhook_token_hash" in statements[0]
            found = addressee_by_token(session, token, None)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert found is not None and found.key == key
    assert "webhook_token_hash" in statements[1]
    if store.backend == "sqlite":  # the read uses the unique index, not a scan
        with store.engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM organizations "
                        "WHERE webhook_token_hash = :h"
                    ),
                    {"h": token_hash(token)},
                )
            )
        assert "ix_organizations_webhook_token_hash" in plan


def test_status_counts_each_kind_by_the_key_it_needs(
    store: Database, example_directory: dict[str, Any]
) -> None:
    organizations = len(example_directory["organizations"])
    _import(store, example_directory, None)  # no ENCRYPTION_KEYS: plaintext
    assert secret_status(store.engine, None)[WEBHOOKS] == {KeyState.PLAINTEXT: organizations}
    installs = EncryptedInstallationStore("111.222", store.engine, TokenCipher([OLD]))
    installs.save(
        Installation(
            app_id="A0MCAPP001",
            team_id="T0AAAAAAA1",
            user_id="U0INSTALL1",
            bot_token="xoxb-planted-1",
            bot_id="B0BOT00001",
            bot_user_id="U0BOT00001",
        )
    )
    rotated = TokenCipher([NEW, OLD])
    status = secret_status(store.engine, rotated)
    assert set(status) == {spec.what for spec in SECRET_COLUMNS}
    assert status[WEBHOOKS] == {KeyState.PLAINTEXT: organizations}
    assert status["Slack installations"] == {KeyState.OLDER: 1}  # bot_token only (NULLs: none)
    assert status["Slack bots"] == {KeyState.OLDER: 1}
    # without keys, an encrypted value is unreadable; with only the new key, too
    assert secret_status(store.engine, None)["Slack bots"] == {KeyState.UNREADABLE: 1}
    assert secret_status(store.engine, TokenCipher([NEW]))["Slack bots"] == {KeyState.UNREADABLE: 1}

    hashes = {key: digest for key, (_, digest) in _stored(store).items()}
    done = reencrypt_all(store.engine, rotated)
    assert done == {
        "Slack installations": 1,
        "Slack bots": 1,
        WEBHOOKS: organizations,
        "Partner Center connections": 0,  # none connected in this test
        "Partner Center connect states": 0,
    }
    status = secret_status(store.engine, rotated)
    assert all(set(counts) <= {KeyState.FIRST} for counts in status.values())
    assert status[WEBHOOKS][KeyState.FIRST] == organizations
    # the old key can go: the new one alone reads everything; the hashes did not move
    only_new = TokenCipher([NEW])
    for key, (token, digest) in _stored(store).items():
        assert digest == hashes[key] and token_hash(unseal(only_new, token)) == digest


def test_reencrypt_is_all_or_nothing_across_kinds(
    store: Database, example_directory: dict[str, Any]
) -> None:
    _import(store, example_directory, TokenCipher([OLD]))
    installs = EncryptedInstallationStore("111.222", store.engine, TokenCipher([OLD]))
    installs.save(
        Installation(
            app_id="A0MCAPP001",
            team_id="T0AAAAAAA1",
            user_id="U0INSTALL1",
            bot_token="xoxb-planted-1",
            bot_id="B0BOT00001",
            bot_user_id="U0BOT00001",
        )
    )
    # the last kind walked holds a value no key reads: the Slack rows, re-encrypted first in
    # the same transaction, are rolled back with it
    assert SECRET_COLUMNS[-1].what == WEBHOOKS
    last = max(_stored(store))
    with store.engine.begin() as connection:
        connection.execute(
            update(Organization)
            .where(Organization.key == last)
            .values(webhook_token="enc:" + Fernet(Fernet.generate_key()).encrypt(b"x").decode())
        )
        bot_before = connection.execute(select(SLACK_BOTS.c.bot_token)).scalar_one()
    webhooks_before = _stored(store)
    with pytest.raises(TokenUnreadable):
        reencrypt_all(store.engine, TokenCipher([NEW, OLD]))
    with store.engine.connect() as connection:
        assert connection.execute(select(SLACK_BOTS.c.bot_token)).scalar_one() == bot_before
    assert _stored(store) == webhooks_before
    assert secret_status(store.engine, TokenCipher([NEW, OLD]))[WEBHOOKS][KeyState.UNREADABLE] == 1


def test_unseal_without_keys_refuses_an_encrypted_value_and_reads_plaintext() -> None:
    sealed = TokenCipher([OLD]).encrypt("the-token")
    assert sealed is not None
    with pytest.raises(TokenUnreadable, match="ENCRYPTION_KEYS is not set"):
        unseal(None, sealed)
    assert unseal(None, "the-token") == "the-token"
    assert unseal(TokenCipher([NEW, OLD]), sealed) == "the-token"


def test_settings_come_from_secrets_dir_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core.partner_center.settings import PartnerCenterSettings
    from bot.core.settings import DatabaseSettings, EncryptionSettings, SlackSettings

    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "ENCRYPTION_KEYS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PARTNER_CENTER_CLIENT_SECRET", raising=False)
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "slack_signing_secret").write_text("signing-from-file\n")
    (folder / "SLACK_BOT_TOKEN").write_text("xoxb-from-file")
    (folder / "encryption_keys").write_text(OLD)
    (folder / "partner_center_client_secret").write_text("pc-secret-from-file")
    (folder / "database_url").write_text("postgresql+psycopg://mc:pw-from-file@db/mc")
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-environment")  # the environment wins
    slack = SlackSettings()
    assert slack.slack_signing_secret.get_secret_value() == "signing-from-file"
    assert slack.slack_bot_token is not None
    assert slack.slack_bot_token.get_secret_value() == "xoxb-from-environment"
    cipher = EncryptionSettings().cipher()
    assert cipher is not None and cipher.decrypt(TokenCipher([OLD]).encrypt("x")) == "x"
    pc = PartnerCenterSettings()
    assert pc.partner_center_client_secret is not None
    assert pc.partner_center_client_secret.get_secret_value() == "pc-secret-from-file"
    assert "pw-from-file" in DatabaseSettings().database_url
    monkeypatch.delenv("SECRETS_DIR")
    assert EncryptionSettings().cipher() is None  # unset: plaintext (docs/secrets.md)
