"""The state of the stand-in workspace: users, channels, posted messages and views.

Every method takes the one lock, so the HTTP server's threads can share one Workspace.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.testkit.identity import Team

FIRST_TS_MICROS = 1_700_000_000_000_100
TS_STEP_MICROS = 100


class SlackError(Exception):
    """A Slack error code, answered as `{"ok": false, "error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class User:
    id: str
    team_id: str
    name: str
    real_name: str
    locale: str = "en-US"
    tz: str = "America/Los_Angeles"
    email: str | None = None
    is_bot: bool = False
    is_admin: bool = False  # a Slack workspace admin
    is_owner: bool = False  # a Slack workspace owner
    # Enterprise Grid: the user's organization, the workspaces it belongs to (its `team_id`
    # is one of them, not necessarily the one asking), and whether it is an org admin.
    enterprise_id: str | None = None
    enterprise_teams: tuple[str, ...] = ()
    is_org_admin: bool = False

    def to_api(self, *, include_locale: bool) -> dict[str, Any]:
        """The user object of `users.info`; `locale` only with `include_locale`, as Slack does."""
        offset = _tz_offset(self.tz)
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "team": self.team_id,
        }
        if self.email is not None:
            profile["email"] = self.email
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": offset,
            "profile": profile,
            "is_admin": self.is_admin or self.is_owner,
            "is_owner": self.is_owner,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if self.enterprise_id is not None:
            user["enterprise_user"] = {
                "id": self.id,
                "enterprise_id": self.enterprise_id,
                "enterprise_name": self.enterprise_id,
                "is_admin": self.is_org_admin,
                "is_owner": False,
                "is_primary_owner": False,
                "teams": list(self.enterprise_teams),
            }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    dm_user: str | None = None
    host_team_id: str | None = None  # the team the channel belongs to (its host when shared)
    # Slack Connect: the other organizations' teams it is shared with
    connected_team_ids: tuple[str, ...] = ()

    def to_api(self, *, include_locale: bool) -> dict[str, Any]:
        is_im = self.dm_user is not None
        shared = bool(self.connected_team_ids)
        channel: dict[str, Any] = {
            "id": self.id,
            "created": 1_700_000_000,
            "is_im": is_im,
            "is_archived": self.is_archived,
            "is_org_shared": False,
            "context_team_id": self.host_team_id,
        }
        if is_im:
            channel.update({"user": self.dm_user, "is_open": True, "priority": 0})
        else:
            channel.update(
                {
                    "name": self.name,
                    "name_normalized": self.name,
                    "is_channel": not self.is_private,
                    "is_group": False,
                    "is_private": self.is_private,
                    "is_mpim": self.id.startswith("G") and self.name.startswith("mpdm-"),
                    "is_general": False,
                    "is_member": self.is_member,
                    "is_ext_shared": shared,
                    "is_shared": shared,
                    "is_pending_ext_shared": False,
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                }
            )
        if shared:
            channel["conversation_host_id"] = self.host_team_id
            channel["connected_team_ids"] = list(self.connected_team_ids)
        if include_locale:
            channel["locale"] = "en-US"
        return channel


class Workspace:
    """One Slack team's users, channels, DMs, messages and views.

    `strict`: nothing exists until it is set (`set_user`, `set_channel`): an unknown user is
    `user_not_found`, an unknown channel `channel_not_found`, as Slack answers for another
    team's ids. Not strict (the default team of a one-team stand-in): a well-formed id is a
    user or channel on first mention."""

    def __init__(
        self,
        team: Team,
        *,
        strict: bool = False,
        counters: tuple[Iterator[int], Iterator[int]] | None = None,
    ) -> None:
        """`counters`: (ts, ids) shared with the other teams of one stand-in, so that message
        timestamps and view ids are unique across teams, as Slack's are."""
        self.team = team
        self.strict = strict
        self._lock = threading.Lock()
        self._ts, self._ids = counters or (itertools.count(0), itertools.count(1))
        # Slack Connect: channels hosted by another team and shared with this one
        self._shared: dict[str, Workspace] = {}
        # Slack Connect: the teams this one shares a channel with (either side); their people
        # are external members here: `users.info` answers about them, as Slack does
        self._connected: dict[str, Workspace] = {}
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._dms: dict[frozenset[str], str] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._used_triggers: set[str] = set()
        bot = User(team.bot_user_id, team.id, team.bot_name, team.bot_name, is_bot=True)
        self._users[bot.id] = bot

    # ids -------------------------------------------------------------------

    def next_ts(self) -> str:
        micros = FIRST_TS_MICROS + next(self._ts) * TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):09d}"

    # users -----------------------------------------------------------------

    def set_user(self, user_id: str, **changes: Any) -> User:
        given = {k: v for k, v in changes.items() if v is not None}
        with self._lock:
            user = replace(self._users.get(user_id) or self._default_user(user_id), **given)
            self._users[user_id] = user
            return user

    def user(self, user_id: str) -> User:
        with self._lock:
            known = self._users.get(user_id)
            connected = list(self._connected.values())
        if known is not None:
            return known
        for other in connected:  # an external member of a shared channel
            found = other.local_user(user_id)
            if found is not None:
                return found
        if self.strict or not _looks_like(user_id, "UW"):
            raise SlackError("user_not_found")
        return self._default_user(user_id)

    def local_user(self, user_id: str) -> User | None:
        """A person of this team (not an external member), or None."""
        with self._lock:
            return self._users.get(user_id)

    def _default_user(self, user_id: str) -> User:
        name = f"user-{user_id.lower()}"
        return User(id=user_id, team_id=self.team.id, name=name, real_name=name.title())

    # channels --------------------------------------------------------------

    def set_channel(self, channel_id: str, **changes: Any) -> Channel:
        given = {k: v for k, v in changes.items() if v is not None}
        with self._lock:
            current = self._channels.get(channel_id) or self._default_channel(channel_id)
            channel = replace(current, **given)
            self._channels[channel_id] = channel
            return channel

    def share(self, channel_id: str, host: Workspace) -> None:
        """Slack Connect: `channel_id`, hosted by `host`, is shared with this team: its
        members here see and post the host's messages; each team's people are external
        members of the other."""
        with self._lock:
            self._shared[channel_id] = host
            self._connected[host.team.id] = host
        host.connect(self, channel_id)

    def connect(self, guest: Workspace, channel_id: str) -> None:
        """This (host) team shares `channel_id` with `guest`."""
        with self._lock:
            self._connected[guest.team.id] = guest
            current = self._channels.get(channel_id) or self._default_channel(channel_id)
            if guest.team.id not in current.connected_team_ids:
                teams = (*current.connected_team_ids, guest.team.id)
                self._channels[channel_id] = replace(current, connected_team_ids=teams)

    def _host_of(self, channel_id: str) -> Workspace | None:
        with self._lock:
            return self._shared.get(channel_id)

    def channel(self, ref: str) -> Channel:
        """Resolve a channel id, `#name`/name of a set channel, or a user id (their DM)."""
        host = self._host_of(ref)
        if host is not None:
            return host.channel(ref)
        if _looks_like(ref, "UW"):
            self.user(ref)  # another team's user has no DM here: user_not_found
            return self.channel(self.open_dm([ref])[0])
        with self._lock:
            if ref in self._channels:
                return self._channels[ref]
            name = ref.removeprefix("#")
            for channel in self._channels.values():
                if channel.name == name and channel.dm_user is None:
                    return channel
        if not self.strict and _looks_like(ref, "CGD"):
            return self._default_channel(ref)
        raise SlackError("channel_not_found")

    def has_channel(self, channel_id: str) -> bool:
        with self._lock:
            return channel_id in self._channels

    def _default_channel(self, channel_id: str) -> Channel:
        return Channel(
            id=channel_id, name=f"channel-{channel_id.lower()}", host_team_id=self.team.id
        )

    def open_dm(self, users: list[str]) -> tuple[str, bool]:
        """The DM (one user) or group DM id for these users, and whether it already existed."""
        key = frozenset(users)
        with self._lock:
            existing = self._dms.get(key)
            if existing is not None:
                return existing, True
            if len(key) == 1:
                channel_id = self.new_id("D")
                self._channels[channel_id] = Channel(channel_id, "", dm_user=users[0])
            else:
                channel_id = self.new_id("G")
                name = "mpdm-" + "--".join(sorted(key)).lower() + "-1"
                self._channels[channel_id] = Channel(channel_id, name, is_private=True)
            self._dms[key] = channel_id
            return channel_id, False

    # messages --------------------------------------------------------------

    def post(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        host = self._host_of(channel_id)
        if host is not None:
            return host.post(channel_id, message)
        with self._lock:
            ts = self.next_ts()
            stored = {**message, "ts": ts}
            self._messages[(channel_id, ts)] = stored
            return copy.deepcopy(stored)

    def update(self, channel_id: str, ts: str, changes: dict[str, Any]) -> dict[str, Any]:
        host = self._host_of(channel_id)
        if host is not None:
            return host.update(channel_id, ts, changes)
        with self._lock:
            stored = self._messages.get((channel_id, ts))
            if stored is None:
                raise SlackError("message_not_found")
            stored.update(changes)
            stored["edited"] = {"user": self.team.bot_user_id, "ts": f"{time.time():.6f}"}
            return copy.deepcopy(stored)

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        host = self._host_of(channel_id)
        if host is not None:
            return host.message(channel_id, ts)
        with self._lock:
            stored = self._messages.get((channel_id, ts))
            return copy.deepcopy(stored) if stored is not None else None

    def messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                {**copy.deepcopy(m), "channel": ch}
                for (ch, _), m in self._messages.items()
                if channel_id is None or ch == channel_id
            ]
        return sorted(found, key=lambda m: m["ts"])

    # views -----------------------------------------------------------------

    def exchange_trigger(self, trigger_id: str) -> None:
        """A trigger_id opens one view; Slack refuses a second use."""
        with self._lock:
            if trigger_id in self._used_triggers:
                raise SlackError("exchanged_trigger_id")
            self._used_triggers.add(trigger_id)

    def save_view(self, view_id: str | None, view: dict[str, Any], **extra: Any) -> dict[str, Any]:
        with self._lock:
            view_id = view_id or self.new_id("V")
            previous = self._views.get(view_id, {})
            saved = self._view_object(view_id, view, previous, extra)
            self._views[view_id] = saved
            return copy.deepcopy(saved)

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def view_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        with self._lock:
            for view in self._views.values():
                if external_id and view.get("external_id") == external_id:
                    return copy.deepcopy(view)
            return None

    def home_view_id(self, user_id: str) -> str:
        with self._lock:
            if user_id not in self._home_views:
                self._home_views[user_id] = self.new_id("V")
            return self._home_views[user_id]

    def _view_object(
        self,
        view_id: str,
        view: dict[str, Any],
        previous: dict[str, Any],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        submitted = copy.deepcopy(view)
        return {
            "id": view_id,
            "team_id": self.team.id,
            "type": submitted.get("type"),
            "blocks": submitted.get("blocks", []),
            "private_metadata": submitted.get("private_metadata", ""),
            "callback_id": submitted.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{next(self._ids):08x}",
            "title": submitted.get("title"),
            "close": submitted.get("close"),
            "submit": submitted.get("submit"),
            "clear_on_close": bool(submitted.get("clear_on_close", False)),
            "notify_on_close": bool(submitted.get("notify_on_close", False)),
            "previous_view_id": previous.get("previous_view_id"),
            "root_view_id": previous.get("root_view_id", view_id),
            "app_id": self.team.app_id,
            "external_id": submitted.get("external_id", previous.get("external_id", "")),
            "app_installed_team_id": self.team.id,
            "bot_id": self.team.bot_id,
            **extra,
        }


def _looks_like(ref: str, prefixes: str) -> bool:
    return len(ref) >= 2 and ref[0] in prefixes and ref[1:].isalnum() and ref.isupper()


def _tz_offset(tz: str) -> int:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    offset = datetime.now(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
