"""Issue 16's "Done when", tried as a new user would: two providers (Contoso Distribution,
Northwind Distribution) and a reseller (Fabrikam IT) in one deployment, on stand-ins for Entra
ID, Partner Center, Graph (bot.testkit.partner_center.GraphStandIn: one tenant each) and Slack,
through the real bot on loopback and a real database:

- each connects its Partner Center from Slack (Home tab → Entra sign-in → callback), the
  refresh token stored encrypted; a forged, replayed or expired state, an Entra error or a
  consent in the wrong tenant stores nothing (and the bad states call nothing);
- a rotated refresh token survives a restart and a second replica (two Services on one
  database, the stand-in refusing any refresh token used twice), on SQLite and PostgreSQL;
- a revoked consent shows in Slack (Home tab, one notice) and in `mcbot partners list`;
- a reseller's GDAP request goes through the reseller's own connection (the relationship is
  created in its tenant, with its admin's token) and the messages say who requested what for
  whom; a delivery at the wrong organization's URL is refused;
- `mcbot webhook register --org` and the Home tab's button go through the organization's own
  connection.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sqlalchemy import func, select

from bot.cli.main import main as mcbot
from bot.core.connections import clients_of
from bot.core.outbox.options import NotifyOptions
from bot.core.outbox.routing import org_webhook_path
from bot.core.partner_center.errors import ConnectionExpired
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.tokens import Audience
from bot.core.pc_connect import CALLBACK_PATH
from bot.core.services import Services
from bot.core.store.clock import utc_now
from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.models import (
    Organization,
    PartnerCenterConnection,
    PartnerCenterConnectState,
)
from bot.core.store.secrets import TokenCipher
from bot.testkit import app_home_opened_event, block_actions_payload
from bot.testkit import notify as tk
from bot.testkit.harness import ENCRYPTION_KEY, BotHarness
from bot.testkit.partner_center import GraphStandIn

from .helpers import drained, fast_settings, wait_until
from .test_notify_gdap import CUSTOMER, RESELLER, accept, click, gdap_buttons, invitation

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
CONTOSO = ("contoso-dist", "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00", "U0PROVADMIN", "T0PROVIDER")
NORTHWIND = ("northwind-dist", "0b8f4e21-3c5d-4a7e-8f90-1a2b3c4d5e6f", "U0NWADMIN", "T0NORTHWIND")
FABRIKAM = ("fabrikam", "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d", "U0RESADMIN", "T0RESELLER")
ORGS = (CONTOSO, NORTHWIND, FABRIKAM)


def upn(org: tuple[str, str, str, str]) -> str:
    return f"admin@{org[0]}.example"


@pytest.fixture
def entra() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        for org in ORGS:
            server.add_user(upn(org), org[1])
        yield server


def configure(bot: BotHarness, entra: GraphStandIn, **overrides: Any) -> None:
    """The deployment's settings for connections (its app, the stand-in's endpoints, the
    bot's own origin as PUBLIC_BASE_URL), and the redirect URI on the app registration."""
    values = entra.connect_overrides(bot.url) | overrides
    bot.services.partner_center_settings = PartnerCenterSettings(_env_file=None, **values)
    entra.allow_redirect(bot.url + CALLBACK_PATH)
    for _key, _tenant, admin, team in ORGS:
        bot.slack.set_user(admin, team_id=team)


def start(make_bot: Callable[..., BotHarness], entra: GraphStandIn, **kwargs: Any) -> BotHarness:
    bot = make_bot(settings=fast_settings(partner_org_key="contoso-dist"), **kwargs)
    with bot.services.sessions.begin() as session:
        import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
    for channel in ("C0PROVNOTIF", "C0NWNOTIF", "C0RESNOTIF"):
        bot.slack.set_channel(channel, name=channel.lower())
    configure(bot, entra)
    return bot


def connect_link(bot: BotHarness, org: tuple[str, str, str, str]) -> str:
    """A directory admin clicks Connect Partner Center in the Home tab: the link it gets."""
    _key, _tenant, admin, team = org
    bot.slack.reset()
    click_home(bot, "pc_connect", admin, team)
    (call,) = bot.slack.wait_for("chat.postMessage", delivered=True)
    buttons = [
        element
        for block in call.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    (button,) = buttons
    return str(button["url"])


def click_home(bot: BotHarness, action_id: str, user: str, team: str) -> None:
    payload = block_actions_payload(action_id, "home", user_id=user, team_id=team)
    assert bot.interact(payload).status_code == 200


def connect(
    bot: BotHarness, entra: GraphStandIn, org: tuple[str, str, str, str], as_user: str = ""
) -> Any:
    """The whole flow as a browser does it: the link, Entra's sign-in, back to the bot."""
    signed_in = entra.sign_in(connect_link(bot, org), as_user or upn(org))
    assert signed_in.status_code == 302
    return bot.http.get(signed_in.headers["location"])


def stored(bot: BotHarness, key: str) -> PartnerCenterConnection | None:
    with bot.services.sessions() as session:
        org = org_by_key(session, key)
        assert org is not None
        return session.scalar(
            select(PartnerCenterConnection).where(PartnerCenterConnection.org_id == org.id)
        )


def org_id(services: Services, key: str) -> int:
    with services.sessions() as session:
        found = session.scalar(select(Organization.id).where(Organization.key == key))
        assert found is not None
        return found


def counts(bot: BotHarness) -> tuple[int, int, int]:
    with bot.services.sessions() as session:
        states = session.scalar(select(func.count()).select_from(PartnerCenterConnectState))
        used = session.scalar(
            select(func.count())
            .select_from(PartnerCenterConnectState)
            .where(PartnerCenterConnectState.used_at.is_not(None))
        )
        rows = session.scalar(select(func.count()).select_from(PartnerCenterConnection))
    return int(states or 0), int(used or 0), int(rows or 0)


def text_of(page: Any) -> str:
    return html.unescape(page.text)


# ------------------------------------------------------------------------------ connecting
def test_each_partner_connects_from_slack_and_the_token_is_stored_encrypted(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn, database_url: str
) -> None:
    bot = start(make_bot, entra, database_url=database_url)
    # Contoso's admin has the Home tab open: it is republished once connected
    assert bot.event(app_home_opened_event(CONTOSO[2]), team_id=CONTOSO[3]).status_code == 200
    opened = bot.slack.wait_for("views.publish", delivered=True)[-1]
    assert "Partner Center is not connected" in json.dumps(opened.params["view"])
    for org in ORGS:
        page = connect(bot, entra, org)
        assert page.status_code == 200, page.text
        assert "Partner Center is now connected for" in text_of(page)
        row = stored(bot, org[0])
        assert row is not None and row.refresh_token is not None
        assert row.refresh_token.startswith("enc:")
        assert (row.tenant_id, row.status.value if row.status else None) == (org[1], "connected")
        assert (row.connected_by_user, row.connected_by_team, row.version) == (org[2], org[3], 1)
        cipher = TokenCipher.from_setting(ENCRYPTION_KEY)
        issued = cipher.decrypt(row.refresh_token)
        assert issued is not None and issued.startswith("rt-")
        dm = bot.slack.wait_for("chat.postMessage", count=2, delivered=True)[-1]
        assert "Partner Center is connected for" in dm.params["text"]
        if org is CONTOSO:
            republished = bot.slack.wait_for("views.publish", delivered=True, timeout=10)[-1]
            shown = json.dumps(republished.params["view"])
            assert "Partner Center is connected: invitation links" in shown
            assert "Register webhook" in shown
    # the code exchange carried the PKCE verifier and the redirect URI; the token in the clear
    # is nowhere in the database
    codes = [form for form in entra.token_requests if form["grant_type"] == "authorization_code"]
    assert len(codes) == 3 and all(form["code_verifier"] for form in codes)
    assert all(form["redirect_uri"] == bot.url + CALLBACK_PATH for form in codes)
    with bot.services.sessions() as session:
        dump = json.dumps(
            [list(r) for r in session.execute(select(PartnerCenterConnection.__table__)).all()],
            default=str,
        )
        verifiers = session.scalars(select(PartnerCenterConnectState.verifier)).all()
    assert "rt-" not in dump
    assert all(v.startswith("enc:") for v in verifiers)


def test_forged_replayed_and_expired_states_call_nothing_and_store_nothing(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn
) -> None:
    bot = start(make_bot, entra)
    callback = bot.url + CALLBACK_PATH
    forged = bot.http.get(callback, params={"state": "x" * 43, "code": "code-forged"})
    assert forged.status_code == 400 and "not one Multichannel issued" in text_of(forged)
    missing = bot.http.get(callback, params={"code": "code-forged"})
    assert missing.status_code == 400
    assert entra.token_requests == [] and counts(bot) == (0, 0, 0)

    # replayed: a completed sign-in's redirect, opened again
    signed_in = entra.sign_in(connect_link(bot, CONTOSO), upn(CONTOSO))
    back = signed_in.headers["location"]
    assert bot.http.get(back).status_code == 200
    before = (len(entra.token_requests), counts(bot), stored(bot, "contoso-dist"))
    assert before[2] is not None
    again = bot.http.get(back)
    assert again.status_code == 400 and "used already" in text_of(again)
    after_row = stored(bot, "contoso-dist")
    assert after_row is not None and after_row.version == before[2].version
    assert (len(entra.token_requests), counts(bot)) == before[:2]

    # expired: the link is followed more than 10 minutes later
    link = connect_link(bot, NORTHWIND)
    bot.services.clock = lambda: utc_now() + timedelta(minutes=11)
    late = bot.http.get(entra.sign_in(link, upn(NORTHWIND)).headers["location"])
    assert late.status_code == 400 and "more than 10 minutes old" in text_of(late)
    _states, used, rows = counts(bot)
    assert (len(entra.token_requests), used, rows) == (before[0], 1, 1)
    assert stored(bot, "northwind-dist") is None


def test_an_entra_error_and_a_consent_in_the_wrong_tenant_store_nothing(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn
) -> None:
    bot = start(make_bot, entra)
    # the sign-in page of Contoso's tenant, with Northwind's admin: Entra refuses it
    refused = connect(bot, entra, CONTOSO, as_user=upn(NORTHWIND))
    assert refused.status_code == 400
    assert "AADSTS50020" in text_of(refused) and "Nothing was saved" in text_of(refused)
    assert entra.token_requests == []

    # a multi-tenant sign-in page (organizations): Entra lets Northwind's admin consent in
    # Northwind's tenant, and the bot refuses it for Contoso
    origin = entra.origin
    configure(
        bot,
        entra,
        entra_authorize_url=f"{origin}/organizations/oauth2/v2.0/authorize",
        azure_ad_token_url=f"{origin}/organizations/oauth2/v2.0/token",
    )
    wrong = connect(bot, entra, CONTOSO, as_user=upn(NORTHWIND))
    assert wrong.status_code == 403
    assert (
        f"You signed in to tenant {NORTHWIND[1]}, but Contoso Distribution's tenant is "
        f"{CONTOSO[1]}" in text_of(wrong)
    )
    assert stored(bot, "contoso-dist") is None
    # in Spanish too
    spanish = bot.http.get(
        entra.sign_in(connect_link(bot, CONTOSO), upn(NORTHWIND)).headers["location"],
        headers={"accept-language": "es-ES,es;q=0.9"},
    )
    assert "Iniciaste sesión en el inquilino" in text_of(spanish)


def test_only_a_directory_admin_gets_a_link(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn
) -> None:
    bot = start(make_bot, entra)
    bot.slack.set_user("U0SOMEONE1", team_id="T0PROVIDER")
    click_home(bot, "pc_connect", "U0SOMEONE1", "T0PROVIDER")
    (call,) = bot.slack.wait_for("chat.postMessage", delivered=True)
    assert "admins" in call.params["text"] and "pc_connect_link" not in json.dumps(call.params)
    assert counts(bot) == (0, 0, 0) and entra.authorize_requests == 0


# ------------------------------------------------------------------------------ rotation
def replica(database_url: str, bot: BotHarness) -> Services:
    """Another process on the same database: nothing in memory but the settings."""
    services = Services.from_url(
        database_url,
        migrate=False,
        partner_center_settings=bot.services.partner_center_settings,
        cipher=TokenCipher.from_setting(ENCRYPTION_KEY),
    )
    services.notify = NotifyOptions(partner_org_key="contoso-dist")
    return services


async def customer_name(services: Services, key: str) -> str | None:
    clients = await clients_of(services, org_id(services, key))
    assert clients is not None and clients.partner_center is not None
    return (await clients.partner_center.get_customer(CUSTOMER)).company_name


async def forget_access_token(services: Services, key: str) -> None:
    clients = await clients_of(services, org_id(services, key))
    assert clients is not None and clients.partner_center is not None
    clients.partner_center.tokens.invalidate(Audience.PARTNER_CENTER)


def test_a_rotated_refresh_token_survives_a_restart_and_a_second_replica(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn, database_url: str
) -> None:
    entra.strict_single_use = True  # a refresh token used twice is refused: no loss hides
    entra.add_customer(CUSTOMER, "Woodgrove Bank", "woodgrove.example", tenant_id=CONTOSO[1])
    bot = start(make_bot, entra, database_url=database_url)
    assert connect(bot, entra, CONTOSO).status_code == 200

    async def scenario() -> None:
        first, second = replica(database_url, bot), replica(database_url, bot)
        assert await customer_name(first, "contoso-dist") == "Woodgrove Bank"  # rotation 1
        assert await customer_name(second, "contoso-dist") == "Woodgrove Bank"  # rotation 2
        # both replicas need a new access token at the same moment
        await forget_access_token(first, "contoso-dist")
        await forget_access_token(second, "contoso-dist")
        names = await asyncio.gather(
            customer_name(first, "contoso-dist"), customer_name(second, "contoso-dist")
        )
        assert names == ["Woodgrove Bank", "Woodgrove Bank"]
        # a restart: a new process with nothing in memory
        restarted = replica(database_url, bot)
        assert await customer_name(restarted, "contoso-dist") == "Woodgrove Bank"
        for services in (first, second, restarted):
            services.sessions.kw["bind"].dispose()

    asyncio.run(scenario())
    used = entra.refresh_tokens_used()
    assert len(set(used)) >= 4
    # at most one token was offered twice (the replica that lost the race, refused by the
    # strict stand-in, then retried with the token the winner stored)
    assert len(used) - len(set(used)) <= 1
    row = stored(bot, "contoso-dist")
    assert row is not None and row.status is not None and row.status.value == "connected"
    assert row.version == 1 + len(set(used))  # every rotation written, none lost


# ------------------------------------------------------------------------------ revocation
def test_a_revoked_consent_shows_in_slack_once_and_in_partners_list(
    make_bot: Callable[..., BotHarness],
    entra: GraphStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'revoked.sqlite3'}"
    bot = start(make_bot, entra, database_url=database_url)
    assert connect(bot, entra, FABRIKAM).status_code == 200
    entra.revoke(FABRIKAM[1])
    bot.slack.reset()

    async def twice() -> None:
        for _ in range(2):
            clients = await clients_of(bot.services, org_id(bot.services, "fabrikam"))
            if clients is None:
                continue  # known expired: nothing is asked
            assert clients.partner_center is not None
            with pytest.raises(ConnectionExpired) as caught:
                await clients.partner_center.get_customer(CUSTOMER)
            assert "rt-" not in str(caught.value)

    asyncio.run(twice())
    bot.services.outbox_wakeup.set()
    (notice,) = bot.slack.wait_for("chat.postMessage", delivered=True)
    wait_until(lambda: drained(bot))
    assert notice.params["channel"] == "C0RESNOTIF"
    assert (
        "The Partner Center connection for Fabrikam IT expired or was revoked"
        in (notice.params["text"])
    )
    assert "AADSTS50173" in notice.params["text"]
    assert len([c for c in bot.slack.calls("chat.postMessage") if c.delivered]) == 1  # once
    row = stored(bot, "fabrikam")
    assert row is not None and row.status is not None and row.status.value == "expired"
    assert row.status_reason is not None and "AADSTS50173" in row.status_reason

    # the admin's Home tab
    assert bot.event(app_home_opened_event(FABRIKAM[2]), team_id=FABRIKAM[3]).status_code == 200
    published = bot.slack.wait_for("views.publish", delivered=True)[-1]
    shown = json.dumps(published.params["view"], ensure_ascii=False)
    assert "Partner Center connection for Fabrikam IT expired — reconnect" in shown
    assert "Reconnect Partner Center" in shown

    # mcbot partners list
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("PARTNER_TENANT_ID", raising=False)
    assert mcbot(["partners", "list"]) == 0


def test_partners_list_shows_each_connection(
    make_bot: Callable[..., BotHarness],
    entra: GraphStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url = f"sqlite:///{tmp_path / 'list.sqlite3'}"
    bot = start(make_bot, entra, database_url=database_url)
    assert connect(bot, entra, NORTHWIND).status_code == 200
    assert connect(bot, entra, FABRIKAM).status_code == 200
    entra.revoke(FABRIKAM[1])
    with pytest.raises(ConnectionExpired):
        asyncio.run(customer_name(bot.services, "fabrikam"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARTNER_ORG_KEY", "contoso-dist")
    for name, value in entra.partner_center_overrides().items():
        monkeypatch.setenv(name.upper(), str(value))  # the legacy settings: Contoso's
    capsys.readouterr()
    assert mcbot(["partners", "list", "--database-url", database_url]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["contoso-dist"].endswith("environment")
    assert lines["northwind-dist"].endswith("connected")
    assert lines["fabrikam"].endswith("expired")
    assert lines["adatum"].endswith("not connected")


# ------------------------------------------------------------------------------ GDAP
def test_a_resellers_gdap_request_goes_through_its_own_connection(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn
) -> None:
    bot = make_bot(settings=fast_settings(partner_org_key="contoso-dist"))
    invitation_id = invitation(bot)  # Contoso Distribution → Fabrikam IT, for Woodgrove
    configure(bot, entra)
    for org in ORGS:
        assert connect(bot, entra, org).status_code == 200
    bot.slack.reset()
    posted = accept(bot, posts=3)
    (theirs,) = gdap_buttons(posted["C0RESNOTIF"]["blocks"])
    assert theirs["text"]["text"] == "Request delegated admin (GDAP) for Fabrikam IT"

    click(bot, theirs["value"], RESELLER)
    notice = bot.slack.wait_for("response_url")[0].params["text"]
    (call,) = entra.made("POST")
    # created in Fabrikam's own tenant, with the token of Fabrikam's admin who connected
    assert (call.tenant, call.user) == (FABRIKAM[1], upn(FABRIKAM))
    (rel,) = entra.tenants[FABRIKAM[1]].relationships
    assert entra.tenants[CONTOSO[1]].relationships == {}
    assert entra.tenants[FABRIKAM[1]].relationships[rel]["status"] == "approvalPending"
    assert notice.startswith("Fabrikam IT requested a GDAP relationship for Fabrikam IT (")
    assert "Nothing is granted until they do" in notice and "granted you" not in notice
    with bot.services.sessions() as session:
        from bot.core.store.lookup import get_invitation

        saved = get_invitation(session, invitation_id)
        assert saved.reseller_gdap_relationship_id == rel
        assert saved.gdap_relationship_id is None  # the provider's own is not requested


def test_a_delivery_at_the_wrong_organizations_url_is_refused_through_its_connection(
    make_bot: Callable[..., BotHarness], entra: GraphStandIn
) -> None:
    entra.add_customer(CUSTOMER, "Woodgrove Bank", "woodgrove.example", tenant_id=NORTHWIND[1])
    bot = start(make_bot, entra)
    assert connect(bot, entra, CONTOSO).status_code == 200
    assert connect(bot, entra, NORTHWIND).status_code == 200
    with bot.services.sessions() as session:
        tokens = dict(session.execute(select(Organization.key, Organization.webhook_token)).all())
    # a customer only Northwind's Partner Center knows, delivered at Contoso's URL: Contoso's
    # own Partner Center says it is not its customer
    refused = bot.webhook(tk.acceptance(CUSTOMER), path=org_webhook_path(tokens["contoso-dist"]))
    assert refused.status_code == 403 and "not_its_customer" in refused.text
    accepted = bot.webhook(tk.acceptance(CUSTOMER), path=org_webhook_path(tokens["northwind-dist"]))
    assert accepted.status_code == 200
    asked = [c for c in entra.calls if c.path == f"/pc/v1/customers/{CUSTOMER}"]
    assert [c.tenant for c in asked] == [CONTOSO[1], NORTHWIND[1]]


# ------------------------------------------------------------------------------ webhooks
def test_webhook_registration_goes_through_the_organizations_own_connection(
    make_bot: Callable[..., BotHarness],
    entra: GraphStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    bot = start(make_bot, entra, database_url=database_url)
    assert connect(bot, entra, NORTHWIND).status_code == 200
    assert connect(bot, entra, FABRIKAM).status_code == 200
    with bot.services.sessions() as session:
        tokens = dict(session.execute(select(Organization.key, Organization.webhook_token)).all())
    base = "https://bot.example.com"

    # mcbot webhook register --org, from the command line
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENCRYPTION_KEYS", ENCRYPTION_KEY)
    for name, value in entra.connect_overrides(base).items():
        monkeypatch.setenv(name.upper(), str(value))
    capsys.readouterr()
    args = ["webhook", "register", "--database-url", database_url]
    assert mcbot([*args, "--org", "northwind-dist"]) == 0
    registration = entra.tenants[NORTHWIND[1]].registration
    assert registration is not None
    assert registration["WebhookUrl"] == base + org_webhook_path(tokens["northwind-dist"])
    assert mcbot([*args, "--org", "contoso-dist"]) == 3  # not connected: by hand
    out = capsys.readouterr().out
    assert "no working Partner Center connection" in out
    assert entra.tenants[CONTOSO[1]].registration is None

    # the Home tab's button, by Fabrikam's admin
    settings = bot.services.partner_center_settings
    assert settings is not None
    bot.services.partner_center_settings = settings.model_copy(update={"public_base_url": base})
    bot.slack.reset()
    click_home(bot, "pc_register_webhook", FABRIKAM[2], FABRIKAM[3])
    (told,) = bot.slack.wait_for("chat.postMessage", delivered=True)
    assert "Partner Center now sends Fabrikam IT's events to" in told.params["text"]
    registration = entra.tenants[FABRIKAM[1]].registration
    assert registration is not None
    assert registration["WebhookUrl"] == base + org_webhook_path(tokens["fabrikam"])
    with bot.services.sessions() as session:
        recorded = session.scalar(
            select(Organization.webhook_registered_url).where(Organization.key == "fabrikam")
        )
    assert recorded == registration["WebhookUrl"]


def test_connect_link_parameters(make_bot: Callable[..., BotHarness], entra: GraphStandIn) -> None:
    """What the link asks Entra for: the organization's tenant, the deployment's app, the
    callback, the scopes, a state and an S256 challenge (the verifier stays server-side)."""
    bot = start(make_bot, entra)
    link = urlsplit(connect_link(bot, CONTOSO))
    assert link.path == f"/{CONTOSO[1]}/oauth2/v2.0/authorize"
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert query["client_id"] == GraphStandIn.CLIENT_ID
    assert query["redirect_uri"] == bot.url + CALLBACK_PATH
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert set(query["scope"].split()) == {
        "openid",
        "offline_access",
        "https://api.partnercenter.microsoft.com/user_impersonation",
        "https://graph.microsoft.com/DelegatedAdminRelationship.ReadWrite.All",
    }
    with bot.services.sessions() as session:
        hashes = session.scalars(select(PartnerCenterConnectState.state_hash)).all()
    assert query["state"] not in hashes and len(hashes) == 1


def test_an_organization_connects_with_its_own_app_registration(
    make_bot: Callable[..., BotHarness],
    entra: GraphStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url = f"sqlite:///{tmp_path / 'own-app.sqlite3'}"
    bot = start(make_bot, entra, database_url=database_url)
    entra.add_app("northwind-own-app", "northwind-secret")
    entra.allow_redirect(bot.url + CALLBACK_PATH, client_id="northwind-own-app")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENCRYPTION_KEYS", ENCRYPTION_KEY)
    args = ["partners", "connection-app", "--database-url", database_url, "--org"]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert mcbot([*args, "northwind-dist", "--client-id", "northwind-own-app"]) == 2
    assert "standard input" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("northwind-secret\n"))
    assert mcbot([*args, "northwind-dist", "--client-id", "northwind-own-app"]) == 0
    row = stored(bot, "northwind-dist")
    assert row is not None and row.client_secret is not None
    assert row.client_secret.startswith("enc:") and "northwind-secret" not in row.client_secret

    link = urlsplit(connect_link(bot, NORTHWIND))
    assert parse_qs(link.query)["client_id"] == ["northwind-own-app"]
    page = connect(bot, entra, NORTHWIND)
    assert page.status_code == 200, page.text
    codes = [f for f in entra.token_requests if f["grant_type"] == "authorization_code"]
    assert [(f["client_id"], f["client_secret"]) for f in codes] == [
        ("northwind-own-app", "northwind-secret")
    ]
    entra.add_customer(CUSTOMER, "Woodgrove Bank", "woodgrove.example", tenant_id=NORTHWIND[1])
    assert asyncio.run(customer_name(bot.services, "northwind-dist")) == "Woodgrove Bank"
    grants = [f for f in entra.token_requests if f["grant_type"] == "refresh_token"]
    assert [f["client_id"] for f in grants] == ["northwind-own-app"]


# ------------------------------------------------------------------------------ legacy
def test_the_legacy_settings_are_partner_org_keys_connection_and_rotations_persist(
    make_bot: Callable[..., BotHarness], tmp_path: Path
) -> None:
    """PARTNER_TENANT_ID & co. with ENCRYPTION_KEYS: seeded as Contoso's stored connection,
    every rotation written (the strict stand-in refuses a token used twice), a restart reads
    the rotated one, and a new token in the environment seeds the row again."""
    legacy = GraphStandIn(partner_tenant_id=CONTOSO[1])
    legacy.rotate_legacy = True
    legacy.strict_single_use = True
    legacy.add_customer(CUSTOMER, "Woodgrove Bank", "woodgrove.example")
    database_url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    try:
        with (
            BotHarness(database_url=database_url) as setup,  # the directory first
            setup.services.sessions.begin() as session,
        ):
            import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
        for run in range(2):  # a restart between the two
            bot = make_bot(
                settings=fast_settings(partner_org_key="contoso-dist"),
                database_url=database_url,
                partner_center=legacy.partner_center_overrides(),
            )
            assert asyncio.run(customer_name(bot.services, "contoso-dist")) == "Woodgrove Bank"
            row = stored(bot, "contoso-dist")
            assert row is not None and row.version == 2 + run  # seeded, then one rotation each
            assert row.refresh_token is not None and legacy.REFRESH_TOKEN not in row.refresh_token
            bot.stop()
        used = legacy.refresh_tokens_used()
        assert used[0] == legacy.REFRESH_TOKEN and len(used) == len(set(used)) == 2
        assert stored(bot, "contoso-dist") is not None
        # the operator puts a new refresh token in the environment: seeded again
        fresh = legacy.partner_center_overrides() | {"partner_center_refresh_token": "rt-new"}
        legacy.issue_legacy_refresh_token("rt-new")
        again = make_bot(
            settings=fast_settings(partner_org_key="contoso-dist"),
            database_url=database_url,
            partner_center=fresh,
        )
        row = stored(again, "contoso-dist")
        assert row is not None and row.version == 4
        assert TokenCipher.from_setting(ENCRYPTION_KEY).decrypt(row.refresh_token) == "rt-new"
    finally:
        legacy.close()
