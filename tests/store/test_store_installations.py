"""slack_sdk's installation and OAuth state stores on our tables (migration 0007), on SQLite
and PostgreSQL: tokens encrypted at rest, a long rotating token fits, a state is consumed
once, re-encryption is all or nothing."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import select, update

from bot.core.store.installations import EncryptedInstallationStore
from bot.core.store.models import SLACK_BOTS, SLACK_INSTALLATIONS
from bot.core.store.secrets import TokenCipher, TokenUnreadable, reencrypt_all
from bot.core.store.testing import Database

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
LONG_TOKEN = "xoxe.xoxb-1-" + "A" * 160  # rotating tokens are long; encrypted, longer still


def _install(store: EncryptedInstallationStore, team: str, token: str) -> None:
    store.save(
        Installation(
            app_id="A0MCAPP001",
            team_id=team,
            team_name=f"Team {team}",
            user_id="U0INSTALL1",
            bot_token=token,
            bot_id="B0BOT00001",
            bot_user_id="U0BOT00001",
            bot_refresh_token="xoxe-1-refresh-" + team,
        )
    )


def test_tokens_are_encrypted_at_rest_and_read_back(store: Database) -> None:
    installs = EncryptedInstallationStore("111.222", store.engine, TokenCipher([OLD]))
    _install(installs, "T0AAAAAAA1", LONG_TOKEN)
    with store.engine.connect() as connection:
        raw = connection.execute(select(SLACK_BOTS.c.bot_token, SLACK_BOTS.c.bot_refresh_token))
        for token, refresh in raw:
            assert token.startswith("enc:") and LONG_TOKEN not in token and len(token) > 200
            assert refresh.startswith("enc:")
    found = installs.find_installation(enterprise_id=None, team_id="T0AAAAAAA1")
    assert found is not None and found.bot_token == LONG_TOKEN
    assert found.bot_refresh_token == "xoxe-1-refresh-T0AAAAAAA1"
    bot = installs.find_bot(enterprise_id=None, team_id="T0AAAAAAA1")
    assert bot is not None and bot.bot_token == LONG_TOKEN
    assert installs.find_bot(enterprise_id=None, team_id="T0OTHER001") is None


def test_reencrypt_with_a_new_first_key(store: Database) -> None:
    _install(
        EncryptedInstallationStore("111.222", store.engine, TokenCipher([OLD])), "T0A", "xoxb-a"
    )
    rotated = TokenCipher([NEW, OLD])
    done = reencrypt_all(store.engine, rotated)
    assert (done["Slack installations"], done["Slack bots"]) == (1, 1)
    only_new = EncryptedInstallationStore("111.222", store.engine, TokenCipher([NEW]))
    found = only_new.find_installation(enterprise_id=None, team_id="T0A")
    assert found is not None and found.bot_token == "xoxb-a"
    # a token no key reads stops it, and nothing is changed (one transaction)
    with store.engine.begin() as connection:
        before = connection.execute(select(SLACK_INSTALLATIONS.c.bot_token)).scalar_one()
        connection.execute(update(SLACK_BOTS).values(bot_token="enc:not-a-fernet-token"))
    with pytest.raises(TokenUnreadable):
        reencrypt_all(store.engine, TokenCipher([OLD]))
    with store.engine.connect() as connection:
        after = connection.execute(select(SLACK_INSTALLATIONS.c.bot_token)).scalar_one()
    assert after == before


def test_an_oauth_state_is_consumed_once(store: Database) -> None:
    states = SQLAlchemyOAuthStateStore(
        expiration_seconds=600, engine=store.engine, table_name="slack_oauth_states"
    )
    state = states.issue()
    assert states.consume(state) is True
    assert states.consume(state) is False  # replayed
    assert states.consume("forged-" + state) is False


async def test_a_grid_workspace_token_is_found_by_its_team_id_alone(store: Database) -> None:
    """Work done later (the outbox, Home tabs) knows a target's team id; a workspace of an
    Enterprise Grid organization is stored with its enterprise id, and is found all the same
    (issue 13: deferred work resolves the target workspace's token, enterprise included)."""
    from bot.core.installations import AsyncInstallations, NotInstalled, Tokens, Workspace

    installs = EncryptedInstallationStore("111.222", store.engine, TokenCipher([OLD]))
    installs.save(
        Installation(
            app_id="A0MCAPP001",
            enterprise_id="E0GRID0001",
            team_id="T0GRIDWS01",
            user_id="U0INSTALL1",
            bot_token="xoxb-grid-workspace",
            bot_id="B0BOT00001",
            bot_user_id="U0BOT00001",
        )
    )
    _install(installs, "T0PLAIN001", "xoxb-plain-workspace")  # outside Grid: no enterprise
    found = AsyncInstallations(installs)
    tokens = Tokens(installations=found)
    assert await tokens.bot_token(Workspace("T0GRIDWS01")) == "xoxb-grid-workspace"
    assert await tokens.bot_token(Workspace("T0GRIDWS01", "E0GRID0001")) == "xoxb-grid-workspace"
    assert await tokens.bot_token(Workspace("T0PLAIN001")) == "xoxb-plain-workspace"
    assert await found.async_enterprise_of("T0PLAIN001") is None
    with pytest.raises(NotInstalled):
        await tokens.bot_token(Workspace("T0UNKNOWN1"))
    # a reinstall drops what this process cached about the workspace, enterprise included
    assert ("enterprise", None, "T0GRIDWS01") in found.cache._items
    await found.async_delete_all(enterprise_id="E0GRID0001", team_id="T0GRIDWS01")
    assert not [key for key in found.cache._items if key[2] == "T0GRIDWS01"]
    with pytest.raises(NotInstalled):
        await tokens.bot_token(Workspace("T0GRIDWS01"))
