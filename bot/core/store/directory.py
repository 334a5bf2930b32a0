"""The partner directory: import it (upsert by key) and look organizations up.

`import_directory` validates the whole file first (see `directory_file`) and against the
database (tenants and Slack teams owned by organizations outside the file, providers that
exist only in the database), then writes. Nothing is written if anything is wrong. It flushes
but does not commit: run it inside `with session_factory.begin() as session:`.

Organizations missing from the file are left alone (never deleted). For organizations in the
file, teams, admins and providers are replaced by the file's lists.

Every organization created or changed gets one `directory_events` row (the directory's audit
trail) naming who changed it: `mcbot partners import` (the default actor) or a person in Slack
(bot/core/onboarding.py, bot/core/org_admin.py: the same function, so the same checks and the
same trail). `update_organization` changes some fields of one organization through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from bot.core.store.clock import Clock, utc_now
from bot.core.store.directory_file import OrganizationEntry, parse_entries
from bot.core.store.errors import DirectoryError, DirectoryIssue
from bot.core.store.models import (
    JOIN_PENDING,
    DirectoryAction,
    DirectoryEvent,
    Invitation,
    JoinRequest,
    Organization,
    OrganizationAdmin,
    OrganizationTeam,
    ResellerProvider,
    new_webhook_token,
)
from bot.core.store.secrets import TokenCipher, seal, token_hash
from policy.facts import Role


@dataclass(frozen=True)
class Actor:
    """Who changes the directory: `source` "import" (`mcbot partners import`, no person) or
    "slack" (the user and workspace acting)."""

    source: str = "import"
    user_id: str | None = None
    team_id: str | None = None


FILE_IMPORT = Actor()


def slack_actor(user_id: str, team_id: str) -> Actor:
    return Actor("slack", user_id, team_id)


def record(
    session: Session,
    org_key: str,
    action: DirectoryAction,
    actor: Actor,
    detail: dict[str, Any],
    *,
    clock: Clock = utc_now,
) -> None:
    """Append one row to the directory's audit trail."""
    session.add(
        DirectoryEvent(
            at=clock(),
            org_key=org_key,
            action=action,
            source=actor.source,
            user_id=actor.user_id,
            team_id=actor.team_id,
            detail=detail,
        )
    )


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def import_directory(
    session: Session,
    data: dict[str, Any],
    *,
    cipher: TokenCipher | None = None,
    clock: Clock = utc_now,
    actor: Actor = FILE_IMPORT,
) -> ImportResult:
    """Validate `data` (the parsed YAML) and upsert its organizations by key, recording each
    change in the audit trail as `actor`'s. A new organization gets its webhook URL token,
    sealed with `cipher` (ENCRYPTION_KEYS; None: in plaintext until `mcbot secrets
    reencrypt`). Raises `DirectoryError` listing every problem;
    nothing is written then."""
    entries = parse_entries(data)
    existing = {org.key: org for org in session.scalars(select(Organization))}
    _raise_database_issues(session, entries, existing)

    before = {
        entry.key: _snapshot(session, existing[entry.key])
        for entry in entries
        if entry.key in existing
    }
    orgs = dict(existing)
    for entry in entries:
        org = orgs.get(entry.key)
        if org is None:
            token = new_webhook_token()
            org = Organization(
                key=entry.key,
                created_at=clock(),
                webhook_token_hash=token_hash(token),
                webhook_token=seal(cipher, token),
            )
            session.add(org)
            orgs[entry.key] = org
        org.name = entry.name
        org.role = entry.role
        org.tenant_id = entry.tenant_id
        org.partner_id = entry.partner_id
        org.notification_channel = entry.notification_channel
        org.notification_channel_team = entry.notification_channel_host
    session.flush()

    # Replace the link rows of every organization in the file: delete all first, so a team
    # moving between two organizations of the file never collides with itself.
    ids = [orgs[entry.key].id for entry in entries]
    session.execute(delete(OrganizationTeam).where(OrganizationTeam.org_id.in_(ids)))
    session.execute(delete(OrganizationAdmin).where(OrganizationAdmin.org_id.in_(ids)))
    session.execute(delete(ResellerProvider).where(ResellerProvider.reseller_org_id.in_(ids)))
    session.flush()
    for entry in entries:
        org = orgs[entry.key]
        session.add_all(OrganizationTeam(team_id=t, org_id=org.id) for t in set(entry.slack_teams))
        session.add_all(OrganizationAdmin(user_id=u, org_id=org.id) for u in set(entry.admins))
        session.add_all(
            ResellerProvider(reseller_org_id=org.id, provider_org_id=orgs[p].id)
            for p in set(entry.providers)
        )
    session.flush()
    for org in orgs.values():
        session.expire(org, ["teams", "admins"])

    result = ImportResult()
    for entry in entries:
        after = _snapshot(session, orgs[entry.key])
        old = before.get(entry.key)
        if old is None:
            result.created.append(entry.key)
            changes = {name: [None, value] for name, value in after.items() if value}
            record(session, entry.key, DirectoryAction.create, actor, changes, clock=clock)
        elif old == after:
            result.unchanged.append(entry.key)
        else:
            result.updated.append(entry.key)
            changes = {name: [old[name], after[name]] for name in after if old[name] != after[name]}
            record(session, entry.key, DirectoryAction.update, actor, changes, clock=clock)
    session.flush()
    return result


def _snapshot(session: Session, org: Organization) -> dict[str, Any]:
    """The organization as the directory file states it (JSON-ready, lists sorted)."""
    return {
        "name": org.name,
        "role": org.role.value,
        "tenant_id": org.tenant_id,
        "partner_id": org.partner_id,
        "notification_channel": org.notification_channel,
        "notification_channel_host": org.notification_channel_team,
        "slack_teams": sorted(team.team_id for team in org.teams),
        "admins": sorted(admin.user_id for admin in org.admins),
        "providers": [provider.key for provider in providers_of(session, org)],
    }


def update_organization(
    session: Session,
    org: Organization,
    *,
    actor: Actor,
    clock: Clock = utc_now,
    **changes: Any,
) -> ImportResult:
    """Change some fields of `org` (directory-file field → new value) through
    `import_directory`: validated, written and audited exactly as an import of its entry."""
    entry: dict[str, Any] = {"key": org.key, **_snapshot(session, org)}
    entry.update(changes)
    entry = {name: value for name, value in entry.items() if value not in (None, [])}
    return import_directory(session, {"organizations": [entry]}, clock=clock, actor=actor)


def _raise_database_issues(
    session: Session, entries: list[OrganizationEntry], existing: dict[str, Organization]
) -> None:
    in_file = {entry.key: entry for entry in entries}
    outside = {key: org for key, org in existing.items() if key not in in_file}
    tenant_owner = {org.tenant_id: key for key, org in outside.items()}
    team_owner = {
        team_id: org.key
        for team_id, org in session.execute(
            select(OrganizationTeam.team_id, Organization).join(Organization)
        )
        if org.key not in in_file
    }
    team_of_org = dict(team_owner)
    team_of_org.update({t: entry.key for entry in entries for t in entry.slack_teams})
    role_of = {key: org.role for key, org in outside.items()}
    role_of.update({key: entry.role for key, entry in in_file.items()})

    issues: list[DirectoryIssue] = []
    for entry in entries:
        if entry.tenant_id in tenant_owner:
            issues.append(
                DirectoryIssue(
                    entry.key,
                    "tenant_id",
                    "tenant_taken",
                    f"{entry.tenant_id} already belongs to {tenant_owner[entry.tenant_id]}",
                )
            )
        for team in sorted(set(entry.slack_teams)):
            if team in team_owner:
                issues.append(
                    DirectoryIssue(
                        entry.key,
                        "slack_teams",
                        "team_taken",
                        f"{team} already belongs to {team_owner[team]}; "
                        "a Slack team belongs to one organization",
                    )
                )
        host = entry.notification_channel_host
        if host is not None and team_of_org.get(host) in (None, entry.key):
            issues.append(
                DirectoryIssue(
                    entry.key,
                    "notification_channel_host",
                    "unknown_host_team",
                    f"{host} is the workspace of no other organization in the directory: name "
                    "the workspace (slack_teams) of the organization that hosts the channel",
                )
            )
        for provider in entry.providers:
            if provider not in role_of:
                issues.append(
                    DirectoryIssue(
                        entry.key,
                        "providers",
                        "unknown_provider",
                        f"{provider!r} is neither in this file nor already imported",
                    )
                )
            elif role_of[provider] is not Role.indirect_provider:
                issues.append(
                    DirectoryIssue(
                        entry.key,
                        "providers",
                        "not_a_provider",
                        f"{provider!r} has role {role_of[provider].value}, not indirect_provider",
                    )
                )
    # Resellers outside the file must keep a provider whose role is still indirect_provider.
    links = session.execute(
        select(ResellerProvider.reseller_org_id, ResellerProvider.provider_org_id)
    )
    key_of = {org.id: key for key, org in existing.items()}
    for reseller_id, provider_id in links:
        reseller, provider = key_of[reseller_id], key_of[provider_id]
        if (
            reseller in outside
            and provider in in_file
            and (in_file[provider].role is not Role.indirect_provider)
        ):
            issues.append(
                DirectoryIssue(
                    provider,
                    "role",
                    "still_a_provider",
                    f"{reseller} (not in this file) buys through "
                    f"{provider}, so it must stay indirect_provider",
                )
            )
    issues.extend(_role_change_issues(session, entries, existing))
    if issues:
        raise DirectoryError(issues)


def _role_change_issues(
    session: Session, entries: list[OrganizationEntry], existing: dict[str, Organization]
) -> list[DirectoryIssue]:
    """An organization changes role only while nothing recorded depends on its current one:
    no invitation names it (provider or reseller) and no join request involves it."""
    changing = {
        existing[e.key].id: e.key
        for e in entries
        if e.key in existing and existing[e.key].role is not e.role
    }
    if not changing:
        return []
    ids = list(changing)
    # one index probe per organization and side, whatever the length of its history
    named = union_all(
        *(
            select(literal(org_id)).where(
                exists().where(Invitation.provider_org_id == org_id)
                | exists().where(Invitation.reseller_org_id == org_id)
            )
            for org_id in ids
        )
    )
    requests = session.execute(
        select(JoinRequest.reseller_org_id, JoinRequest.provider_org_id).where(
            (JoinRequest.reseller_org_id.in_(ids) | JoinRequest.provider_org_id.in_(ids))
            & (JoinRequest.status == JOIN_PENDING)
        )
    )
    with_invitations = set(session.scalars(named))
    with_requests = {i for pair in requests for i in pair if i in changing}
    issues = [
        DirectoryIssue(
            changing[org_id],
            "role",
            "role_has_invitations",
            "invitations are recorded under its current role; changing it would misfile "
            "them: keep the role, or add the organization again under a new key",
        )
        for org_id in sorted(with_invitations)
    ]
    issues.extend(
        DirectoryIssue(
            changing[org_id],
            "role",
            "role_has_join_requests",
            "a join request with it is waiting for approval: have it approved or declined first",
        )
        for org_id in sorted(with_requests)
    )
    return issues


def org_for_team(session: Session, team_id: str) -> Organization | None:
    """The organization a Slack team (workspace) belongs to, or None if unknown."""
    return session.scalar(
        select(Organization).join(OrganizationTeam).where(OrganizationTeam.team_id == team_id)
    )


def org_and_admin(session: Session, team_id: str, user_id: str) -> tuple[Organization, bool] | None:
    """The organization of a Slack team and whether `user_id` is one of its directory admins,
    in one statement; None if the team is unknown."""
    admin = (
        exists()
        .where(OrganizationAdmin.org_id == Organization.id, OrganizationAdmin.user_id == user_id)
        .correlate(Organization)
    )
    row = session.execute(
        select(Organization, admin.label("admin"))
        .join(OrganizationTeam)
        .where(OrganizationTeam.team_id == team_id)
    ).first()
    return None if row is None else (row[0], bool(row[1]))


def org_by_key(session: Session, key: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.key == key))


def list_orgs(session: Session) -> list[Organization]:
    """Every organization by key, with its teams and admins loaded."""
    query = (
        select(Organization)
        .options(selectinload(Organization.teams), selectinload(Organization.admins))
        .order_by(Organization.key)
    )
    return list(session.scalars(query))


def providers_of(session: Session, org: Organization) -> list[Organization]:
    """The indirect providers a reseller buys through (empty for other roles)."""
    return list(
        session.scalars(
            select(Organization)
            .join(ResellerProvider, ResellerProvider.provider_org_id == Organization.id)
            .where(ResellerProvider.reseller_org_id == org.id)
            .order_by(Organization.key)
        )
    )


def resellers_of(session: Session, org: Organization) -> list[Organization]:
    """The indirect resellers that buy through a provider (empty for other roles)."""
    return list(
        session.scalars(
            select(Organization)
            .join(ResellerProvider, ResellerProvider.reseller_org_id == Organization.id)
            .where(ResellerProvider.provider_org_id == org.id)
            .order_by(Organization.key)
        )
    )


def is_provider_of(session: Session, provider: Organization, reseller: Organization) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    ResellerProvider.provider_org_id == provider.id,
                    ResellerProvider.reseller_org_id == reseller.id,
                )
            )
        )
    )


def is_admin(session: Session, org: Organization, user_id: str) -> bool:
    """Whether the Slack user may use `/multichannel admin` for `org`."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    OrganizationAdmin.org_id == org.id, OrganizationAdmin.user_id == user_id
                )
            )
        )
    )


def self_org(session: Session, key: str | None) -> tuple[int, str] | None:
    """(id, key) of the organization this bot instance runs for: PARTNER_ORG_KEY, else the
    only organization that is not an indirect reseller. One statement."""
    columns = select(Organization.id, Organization.key)
    if key:
        row = session.execute(columns.where(Organization.key == key)).first()
        return (row.id, row.key) if row is not None else None
    found = session.execute(
        columns.where(Organization.role != Role.indirect_reseller).limit(2)
    ).all()
    return (found[0].id, found[0].key) if len(found) == 1 else None


def self_org_id(session: Session, key: str | None) -> int | None:
    """The id of `self_org`."""
    found = self_org(session, key)
    return found[0] if found is not None else None
