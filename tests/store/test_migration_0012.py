"""Migration 0012 (webhook URL tokens at rest) on SQLite and PostgreSQL: every existing
organization's token gets its SHA-256 (unique); the tokens stay readable (plaintext until
`mcbot secrets reencrypt`); the downgrade writes them back in plaintext, decrypting with
ENCRYPTION_KEYS, and stops, changing nothing, when no key reads one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.store import db
from bot.core.store.secrets import TokenCipher, TokenUnreadable, reencrypt_all

ORG = (
    "INSERT INTO organizations (id, key, name, role, tenant_id, partner_id, created_at) VALUES "
    "(:id, :key, :name, 'direct', :tenant, '1234567', '2026-11-30 12:00:00+00:00')"
)
KEY = Fernet.generate_key().decode()


def _tokens(url: str, columns: str = "key, webhook_token") -> dict[str, str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                row[0]: row[1]
                for row in connection.execute(text(f"SELECT {columns} FROM organizations"))
            }
    finally:
        engine.dispose()


def test_0012_hashes_existing_tokens_and_downgrades_them_to_plaintext(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("ENCRYPTION_KEYS", raising=False)
    db.upgrade(url, "0011")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            for n in (1, 2, 3):
                tenant = f"00000000-0000-0000-0000-00000000000{n}"
                connection.execute(
                    text(ORG), {"id": n, "key": f"org-{n}", "name": f"Org {n}", "tenant": tenant}
                )
                connection.execute(
                    text("UPDATE organizations SET webhook_token = :t WHERE id = :id"),
                    {"t": f"token-{n}-" + "x" * 24, "id": n},
                )
        before = _tokens(url)
        db.upgrade(url, "0012")
        assert _tokens(url) == before  # still readable, in plaintext
        hashes = _tokens(url, "key, webhook_token_hash")
        assert hashes == {k: hashlib.sha256(t.encode()).hexdigest() for k, t in before.items()}
        with pytest.raises(IntegrityError), engine.begin() as connection:  # UNIQUE hash
            connection.execute(
                text("UPDATE organizations SET webhook_token_hash = :h WHERE key <> 'org-1'"),
                {"h": hashes["org-1"]},
            )

        assert reencrypt_all(engine, TokenCipher([KEY]))["Partner Center webhook URL tokens"] == 3
        encrypted = _tokens(url)
        assert all(v.startswith("enc:") and len(v) > 100 for v in encrypted.values())
        assert _tokens(url, "key, webhook_token_hash") == hashes  # not moved by encryption

        # no key in the environment: the downgrade stops before changing anything
        with pytest.raises(TokenUnreadable, match="ENCRYPTION_KEYS is not set"):
            db.downgrade(url, "0011")
        engine.dispose()
        assert db.current_revision(url) == "0012" and _tokens(url) == encrypted
        monkeypatch.setenv("ENCRYPTION_KEYS", KEY)
        db.downgrade(url, "0011")
        assert _tokens(url) == before
        db.upgrade(url)  # and up again
        assert _tokens(url, "key, webhook_token_hash") == hashes
    finally:
        engine.dispose()
