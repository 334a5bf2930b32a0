"""Partner Center connections in storage (bot/core/store/connections.py), on SQLite and
PostgreSQL: secrets encrypted, rotations version-checked, one flip to expired, the legacy
token seeded by fingerprint, connect states single-use and key rotation covering the new
secret columns."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.core.store.connections import (
    STATE_TTL,
    ConsumedState,
    StateProblem,
    code_challenge,
    consume_state,
    load_connection,
    mark_expired,
    new_state,
    rotate,
    save_connected,
    seed_legacy,
    set_app,
)
from bot.core.store.models import ConnectionStatus, PartnerCenterConnection
from bot.core.store.secrets import SECRET_COLUMNS, TokenCipher, reencrypt_all
from bot.core.store.testing import Database, FakeClock

KEY = Fernet.generate_key().decode()
TENANT = "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00"


def raw(store: Database, org_id: int) -> PartnerCenterConnection:
    with store.factory() as session:
        row = session.scalar(
            select(PartnerCenterConnection).where(PartnerCenterConnection.org_id == org_id)
        )
        assert row is not None
        session.expunge(row)
        return row


def test_rotation_is_version_checked_and_expiry_flips_once(
    partners: Database, clock: FakeClock
) -> None:
    cipher = TokenCipher([KEY])
    org = partners.orgs["contoso-dist"].id
    with partners.factory.begin() as session:
        version = save_connected(
            session,
            org_id=org,
            tenant_id=TENANT,
            refresh_token="rt-1",
            cipher=cipher,
            user_id="U1",
            team_id="T1",
            now=clock(),
        )
    assert version == 1 and raw(partners, org).refresh_token.startswith("enc:")  # type: ignore[union-attr]
    with partners.factory.begin() as session:
        args = {"org_id": org, "cipher": cipher, "now": clock()}
        assert rotate(session, seen_version=1, refresh_token="rt-2", **args)
        assert not rotate(session, seen_version=1, refresh_token="rt-x", **args)  # lost race
    with partners.factory() as session:
        stored = load_connection(session, org, cipher)
    assert stored is not None and (stored.refresh_token, stored.version) == ("rt-2", 2)
    with partners.factory.begin() as session:
        assert not mark_expired(session, org_id=org, seen_version=1, reason="old", now=clock())
        assert mark_expired(session, org_id=org, seen_version=2, reason="AADSTS50173", now=clock())
        assert not mark_expired(session, org_id=org, seen_version=2, reason="again", now=clock())
    row = raw(partners, org)
    assert (row.status, row.status_reason) == (ConnectionStatus.expired, "AADSTS50173")


def test_the_legacy_token_is_seeded_by_fingerprint(partners: Database, clock: FakeClock) -> None:
    cipher = TokenCipher([KEY])
    org = partners.orgs["contoso-dist"].id
    seed = {"org_id": org, "tenant_id": TENANT, "cipher": cipher, "now": clock()}
    with partners.factory.begin() as session:
        assert seed_legacy(session, refresh_token="env-1", **seed)
    with partners.factory.begin() as session:  # rotated since: kept while the env is the same
        assert rotate(
            session, org_id=org, seen_version=1, refresh_token="rt-2", cipher=cipher, now=clock()
        )
        assert not seed_legacy(session, refresh_token="env-1", **seed)
    assert cipher.decrypt(raw(partners, org).refresh_token) == "rt-2"
    with partners.factory.begin() as session:  # a new token in the environment: seeded again
        assert seed_legacy(session, refresh_token="env-2", **seed)
    row = raw(partners, org)
    assert cipher.decrypt(row.refresh_token) == "env-2" and row.version == 3
    assert row.seeded_from is not None and "env-2" not in row.seeded_from


def test_a_state_is_single_use_and_expires(partners: Database, clock: FakeClock) -> None:
    cipher = TokenCipher([KEY])
    org = partners.orgs["fabrikam"].id
    bound = {"org_id": org, "team_id": "T0RESELLER", "user_id": "U0RESADMIN"}
    with partners.factory.begin() as session:
        first = new_state(session, cipher=cipher, now=clock(), **bound)
        second = new_state(session, cipher=cipher, now=clock(), **bound)
    with partners.factory.begin() as session:
        assert consume_state(session, "forged", cipher=cipher, now=clock()) is StateProblem.unknown
        used = consume_state(session, first.state, cipher=cipher, now=clock())
    assert isinstance(used, ConsumedState) and code_challenge(used.code_verifier) == (
        first.code_challenge
    )
    assert (used.org_id, used.team_id, used.user_id) == (org, "T0RESELLER", "U0RESADMIN")
    with partners.factory.begin() as session:
        assert consume_state(session, first.state, cipher=cipher, now=clock()) is StateProblem.used
        late = clock() + STATE_TTL + timedelta(seconds=1)
        assert consume_state(session, second.state, cipher=cipher, now=late) is (
            StateProblem.expired
        )


def test_an_own_app_and_key_rotation_cover_the_new_secret_columns(
    partners: Database, clock: FakeClock
) -> None:
    old = TokenCipher([KEY])
    org = partners.orgs["northwind-dist"].id
    with partners.factory.begin() as session:
        set_app(session, org_id=org, client_id="own-app", client_secret="s3cret", cipher=old)
        save_connected(
            session,
            org_id=org,
            tenant_id=TENANT,
            refresh_token="rt-1",
            cipher=old,
            user_id=None,
            team_id=None,
            now=clock(),
        )
        new_state(session, org_id=org, team_id="T", user_id="U", cipher=old, now=clock())
    covered = {(spec.table.name, column) for spec in SECRET_COLUMNS for column in spec.columns}
    assert {
        ("partner_center_connections", "refresh_token"),
        ("partner_center_connections", "client_secret"),
        ("partner_center_connect_states", "verifier"),
    } <= covered
    new_key = Fernet.generate_key().decode()
    rotated = TokenCipher([new_key, KEY])
    counts = reencrypt_all(partners.engine, rotated)
    assert counts["Partner Center connections"] == 1
    assert counts["Partner Center connect states"] == 1
    with partners.factory() as session:
        stored = load_connection(session, org, TokenCipher([new_key]))  # the new key alone
    assert stored is not None and (stored.client_secret, stored.refresh_token) == ("s3cret", "rt-1")
    # another app: the connection made with the old one is dropped
    with partners.factory.begin() as session:
        set_app(session, org_id=org, client_id=None, client_secret=None, cipher=None)
    row = raw(partners, org)
    assert (row.client_id, row.client_secret, row.refresh_token, row.status) == (
        None,
        None,
        None,
        None,
    )
