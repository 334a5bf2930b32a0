"""The Partner Center and Graph clients of an organization: its own connection
(docs/partner-center-connection.md), or, for the organization PARTNER_ORG_KEY names, the
legacy environment settings (`Services.partner_center` / `Services.graph`).

`clients_of(services, org_id)` is the one way call sites get them (invitation links, webhook
routing, customer profiles, GDAP, webhook registration). Clients are built once per
organization and app registration, each with its own TokenProvider whose refresh token lives
in the database (`DbRefreshTokens`): nothing but the database holds it between grants.

Graph for a connected organization uses a delegated token from the same refresh token (our
choice, documented in docs/partner-center-connection.md): no per-tenant service principal is
needed, and the GDAP relationship is created by the admin who consented.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.joining import notice_blocks
from bot.core.language import team_language
from bot.core.outbox.queue import Effect, enqueue
from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.graph import GraphGdapClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.tokens import AppCredentials, StoredToken, TokenProvider
from bot.core.services import Services
from bot.core.store.connections import (
    StoredConnection,
    load_connection,
    mark_expired,
    org_tenant,
    rotate,
    seed_legacy,
)
from bot.core.store.directory import self_org_id
from bot.core.store.models import OrganizationTeam, OutboxEffect
from bot.core.ui import surfaces

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

log = logging.getLogger(__name__)
CACHE_SECONDS = 30.0  # how long an organization's resolution is reused (one read per period)


@dataclass(frozen=True)
class OrgClients:
    """An organization's Partner Center and Graph clients, and whose they are."""

    org_id: int
    partner_center: PartnerCenterClient | None  # None: the legacy settings gave only Graph
    graph: GraphGdapClient | None
    legacy: bool  # the environment settings (PARTNER_ORG_KEY's organization)


@dataclass
class _Resolver:
    http: httpx.AsyncClient | None = None
    built: dict[tuple[int, str | None], OrgClients] = field(default_factory=dict)
    resolved: dict[int, tuple[float, OrgClients | None]] = field(default_factory=dict)


def _resolver(services: Services) -> _Resolver:
    if services.connections is None:
        services.connections = _Resolver()
    return services.connections  # type: ignore[no-any-return]


def http_client(services: Services) -> httpx.AsyncClient:
    """The HTTP client of every organization's Entra, Partner Center and Graph calls."""
    import httpx

    resolver = _resolver(services)
    if resolver.http is None:
        resolver.http = httpx.AsyncClient()
    return resolver.http


def forget(services: Services, org_id: int) -> None:
    """A connection changed here (connected, app changed): resolve it again now."""
    resolver = _resolver(services)
    resolver.resolved.pop(org_id, None)
    for key in [k for k in resolver.built if k[0] == org_id]:
        del resolver.built[key]


async def clients_of(services: Services, org_id: int | None) -> OrgClients | None:
    """The organization's clients, or None when it has no usable connection (never connected,
    expired or revoked, or no ENCRYPTION_KEYS to read it)."""
    if org_id is None:
        return None
    resolver = _resolver(services)
    hit = resolver.resolved.get(org_id)
    if hit is None or hit[0] <= time.monotonic():
        found = await _resolve(services, resolver, org_id)
        hit = (time.monotonic() + CACHE_SECONDS, found)
        resolver.resolved[org_id] = hit
    found = hit[1]
    if found is not None and found.legacy:  # the clients Services holds now
        return OrgClients(org_id, services.partner_center, services.graph, legacy=True)
    return found


async def _resolve(services: Services, resolver: _Resolver, org_id: int) -> OrgClients | None:
    key = services.notify.partner_org_key
    cipher = services.cipher

    def read(session: Session) -> tuple[StoredConnection | None, bool]:
        stored = load_connection(session, org_id, cipher)
        return stored, org_id == self_org_id(session, key)

    stored, deployment_org = await services.run(read)
    expired = stored is not None and stored.status is not None and not stored.usable
    legacy = services.partner_center is not None or services.graph is not None
    if deployment_org and legacy and not expired:
        return OrgClients(org_id, services.partner_center, services.graph, legacy=True)
    settings = services.partner_center_settings
    if stored is None or not stored.usable or cipher is None or settings is None:
        return None
    app = _app(settings, stored)
    if app is None:
        return None
    cached = resolver.built.get((org_id, stored.client_id))
    if cached is not None:
        return cached
    http = http_client(services)
    tokens = TokenProvider(
        settings,
        http,
        app=app,
        store=DbRefreshTokens(services, org_id),
        graph_delegated=True,
    )
    built = OrgClients(
        org_id,
        PartnerCenterClient(settings, http, tokens=tokens),
        GraphGdapClient(settings, http, tokens=tokens),
        legacy=False,
    )
    resolver.built[(org_id, stored.client_id)] = built
    return built


def _app(settings: PartnerCenterSettings, stored: StoredConnection) -> AppCredentials | None:
    """The app registration the connection was made with: the organization's own, else the
    deployment's (PARTNER_CENTER_CLIENT_ID / _SECRET)."""
    if stored.tenant_id is None:
        return None
    if stored.client_id is not None:
        if not stored.client_secret:
            return None
        return AppCredentials(stored.tenant_id, stored.client_id, stored.client_secret)
    secret = settings.partner_center_client_secret
    if not settings.partner_center_client_id or secret is None:
        return None
    return AppCredentials(
        stored.tenant_id, settings.partner_center_client_id, secret.get_secret_value()
    )


class DbRefreshTokens:
    """An organization's refresh token in `partner_center_connections` (a RefreshTokenStore)."""

    def __init__(self, services: Services, org_id: int) -> None:
        self._services = services
        self._org_id = org_id

    async def load(self) -> StoredToken | None:
        cipher = self._services.cipher
        stored = await self._services.run(lambda s: load_connection(s, self._org_id, cipher))
        if stored is None or not stored.usable or stored.refresh_token is None:
            return None
        return StoredToken(stored.refresh_token, stored.version)

    async def rotated(self, token: str, seen_version: int) -> bool:
        cipher = self._services.cipher
        assert cipher is not None
        now = self._services.clock()
        return await self._services.run(
            lambda s: rotate(
                s,
                org_id=self._org_id,
                seen_version=seen_version,
                refresh_token=token,
                cipher=cipher,
                now=now,
            )
        )

    async def refused(self, reason: str, seen_version: int) -> None:
        """Expired or revoked: marked once (the replica that flips it queues the one notice
        to the organization's notification channel), then the Home tab shows it."""
        services, org_id = self._services, self._org_id
        now = services.clock()

        def flip(session: Session) -> str | None:
            if not mark_expired(
                session, org_id=org_id, seen_version=seen_version, reason=reason, now=now
            ):
                return None
            org = org_tenant(session, org_id)
            if org is None:
                return None
            name, _tenant, channel = org
            if channel:
                team = _team_of(session, org_id)
                lang = team_language(session, [team]) if team else "en"
                message = surfaces.notice_message(
                    "pc_connection_expired", lang=lang, org=name, reason=reason
                )
                effect = Effect(
                    dedupe_key=f"pc-expired {org_id} {seen_version}",
                    effect=OutboxEffect.post,
                    channel=channel,
                    payload={"message": notice_blocks(message)},
                    team_id=team,
                )
                enqueue(session, [effect], now=now)
            return name

        name = await services.run(flip)
        forget(services, org_id)
        if name is not None:
            services.outbox_wakeup.set()
            log.warning("Partner Center connection of %s expired or revoked: %s", name, reason)


def _team_of(session: Session, org_id: int) -> str | None:
    return session.scalar(
        select(OrganizationTeam.team_id).where(OrganizationTeam.org_id == org_id).limit(1)
    )


def legacy_tokens(
    services: Services, settings: PartnerCenterSettings, http: httpx.AsyncClient
) -> TokenProvider:
    """The TokenProvider of the legacy settings (PARTNER_TENANT_ID, PARTNER_CENTER_CLIENT_*,
    PARTNER_CENTER_REFRESH_TOKEN). With ENCRYPTION_KEYS and PARTNER_ORG_KEY's organization in
    the directory, its refresh token is that organization's stored connection: seeded from the
    setting (again whenever the setting changes), rotations persisted like any other's.
    Otherwise rotations are kept in memory, as before."""
    key = services.notify.partner_org_key
    secret = settings.partner_center_refresh_token
    cipher = services.cipher
    if cipher is None or secret is None or not settings.partner_tenant_id:
        return TokenProvider(settings, http)
    tenant = settings.partner_tenant_id
    with services.sessions.begin() as session:
        org_id = self_org_id(session, key)
        if org_id is None:
            return TokenProvider(settings, http)
        seeded = seed_legacy(
            session,
            org_id=org_id,
            tenant_id=tenant,
            refresh_token=secret.get_secret_value(),
            cipher=cipher,
            now=services.clock(),
        )
    if seeded:
        log.info("Partner Center connection seeded from PARTNER_CENTER_REFRESH_TOKEN")
    return TokenProvider(settings, http, store=DbRefreshTokens(services, org_id))
