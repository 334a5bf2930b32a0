"""The partner directory file (YAML): its schema and the checks that need no database.

Every problem becomes a `DirectoryIssue` naming the organization (its key, or its position
when the key itself is missing or wrong) and the field, so the person editing the file can
find it. See docs/partners.example.yaml.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from bot.core.store.errors import DirectoryError, DirectoryIssue
from policy.facts import Role

FILE = "(file)"  # the `org` of an issue about the file as a whole

KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PARTNER_ID_RE = re.compile(r"^[0-9]{1,12}$")
TEAM_RE = re.compile(r"^T[A-Z0-9]{2,30}$")
CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def _matching(pattern: re.Pattern[str], code: str, what: str, *, lower: bool = False) -> Any:
    def check(value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and code == "not_digits":
            value = str(value)  # YAML reads an unquoted partner id as a number
        if not isinstance(value, str):
            raise PydanticCustomError(code, "expected text: {what}", {"what": what})
        text = value.strip().lower() if lower else value.strip()
        if not pattern.match(text):
            raise PydanticCustomError(
                code, "{value} is not {what}", {"value": repr(value), "what": what}
            )
        return text

    return BeforeValidator(check)


Key = Annotated[
    str,
    _matching(KEY_RE, "not_a_key", "a key: 1-40 lowercase letters, digits and inner hyphens"),
]
TenantId = Annotated[
    str,
    _matching(GUID_RE, "not_a_guid", "a tenant GUID (8-4-4-4-12 hex digits)", lower=True),
]
PartnerId = Annotated[
    str, _matching(PARTNER_ID_RE, "not_digits", "a partner (MPN) id: digits only, in quotes")
]
TeamId = Annotated[str, _matching(TEAM_RE, "not_a_team_id", "a Slack team id like T0123ABCD")]
ChannelId = Annotated[
    str,
    _matching(CHANNEL_RE, "not_a_channel_id", "a Slack channel id like C0123ABCD (not #name)"),
]
UserId = Annotated[str, _matching(USER_RE, "not_a_user_id", "a Slack user id like U0123ABCD")]


class OrganizationEntry(BaseModel):
    """One organization in the directory file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    name: str = Field(min_length=1, max_length=200)
    role: Role
    tenant_id: TenantId
    partner_id: PartnerId | None = None
    slack_teams: tuple[TeamId, ...] = ()
    notification_channel: ChannelId | None = None
    # The workspace hosting the notification channel when it is not the organization's own
    # (a Slack Connect channel another organization shares with it).
    notification_channel_host: TeamId | None = None
    admins: tuple[UserId, ...] = ()
    providers: tuple[Key, ...] = ()


def read_directory_file(path: Path) -> dict[str, Any]:
    """The parsed YAML of `path`; `DirectoryError` if it is missing, unreadable or not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _file_error(str(path), "file_not_found", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _file_error(str(path), "file_unreadable", f"cannot read it ({error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _file_error(str(path), "invalid_yaml", f"not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise _file_error(str(path), "not_a_mapping", "expected a mapping with 'organizations:'")
    return data


def _file_error(field: str, code: str, message: str) -> DirectoryError:
    return DirectoryError([DirectoryIssue(FILE, field, code, message)])


def _label(index: int, raw: object) -> str:
    key = raw.get("key") if isinstance(raw, dict) else None
    if isinstance(key, str) and KEY_RE.match(key):
        return key
    return f"organizations[{index}]"


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(entry)"


def parse_entries(data: object) -> list[OrganizationEntry]:
    """Validate the file's shape and each entry on its own, plus what needs no database:
    unique keys, tenants and teams within the file, and the reseller/provider fields."""
    if not isinstance(data, dict) or set(data) != {"organizations"}:
        raise _file_error(
            "organizations",
            "bad_shape",
            "expected exactly one top-level key, 'organizations', holding a list",
        )
    raw_entries = data["organizations"]
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _file_error("organizations", "bad_shape", "expected a non-empty list")

    issues: list[DirectoryIssue] = []
    entries: list[OrganizationEntry] = []
    for index, raw in enumerate(raw_entries):
        label = _label(index, raw)
        if not isinstance(raw, dict):
            issues.append(DirectoryIssue(label, "(entry)", "bad_shape", "expected a mapping"))
            continue
        try:
            entries.append(OrganizationEntry.model_validate(raw))
        except ValidationError as error:
            issues.extend(
                DirectoryIssue(label, _field(detail["loc"]), detail["type"], detail["msg"])
                for detail in error.errors(include_url=False)
            )
    issues.extend(_within_file_issues(entries))
    if issues:
        raise DirectoryError(issues)
    return entries


def _within_file_issues(entries: list[OrganizationEntry]) -> list[DirectoryIssue]:
    issues: list[DirectoryIssue] = []
    keys = Counter(entry.key for entry in entries)
    tenants = Counter(entry.tenant_id for entry in entries)
    teams = Counter(team for entry in entries for team in set(entry.slack_teams))
    for entry in entries:
        if keys[entry.key] > 1:
            issues.append(_issue(entry, "key", "duplicate_key", "appears more than once"))
        if tenants[entry.tenant_id] > 1:
            issues.append(
                _issue(
                    entry,
                    "tenant_id",
                    "duplicate_tenant",
                    f"{entry.tenant_id} is used by another organization too",
                )
            )
        for team in sorted(set(entry.slack_teams)):
            if teams[team] > 1:
                issues.append(
                    _issue(
                        entry,
                        "slack_teams",
                        "team_in_two_orgs",
                        f"{team} is listed under another organization too; a Slack "
                        "team belongs to one organization",
                    )
                )
        issues.extend(_reseller_issues(entry))
        issues.extend(_host_issues(entry))
    return issues


def _host_issues(entry: OrganizationEntry) -> list[DirectoryIssue]:
    host = entry.notification_channel_host
    if host is None:
        return []
    if entry.notification_channel is None:
        return [
            _issue(
                entry,
                "notification_channel_host",
                "host_without_channel",
                "names the workspace hosting the notification channel, but there is no "
                "notification_channel",
            )
        ]
    if host in entry.slack_teams:
        return [
            _issue(
                entry,
                "notification_channel_host",
                "host_is_own_team",
                f"{host} is this organization's own workspace: leave notification_channel_host "
                "out (it is for a channel another organization's workspace hosts)",
            )
        ]
    return []


def _reseller_issues(entry: OrganizationEntry) -> list[DirectoryIssue]:
    if entry.role is not Role.indirect_reseller:
        if entry.providers:
            return [
                _issue(
                    entry,
                    "providers",
                    "providers_only_for_resellers",
                    "only an indirect_reseller lists providers",
                )
            ]
        return []
    issues = []
    if not entry.providers:
        issues.append(
            _issue(
                entry,
                "providers",
                "reseller_needs_provider",
                "an indirect_reseller must name at least one indirect provider",
            )
        )
    if entry.key in entry.providers:
        issues.append(_issue(entry, "providers", "own_provider", "cannot be its own provider"))
    if entry.partner_id is None:
        issues.append(
            _issue(
                entry,
                "partner_id",
                "partner_id_required",
                "an indirect_reseller needs its partner (MPN) id: invitation links carry it",
            )
        )
    return issues


def _issue(entry: OrganizationEntry, field: str, code: str, message: str) -> DirectoryIssue:
    return DirectoryIssue(entry.key, field, code, message)
