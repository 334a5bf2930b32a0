"""Which policy edition answers a workspace.

Order: the edition a command names for one answer (`/multichannel assess … edition 2017-03`),
else the workspace's own (`/multichannel edition 2026-11`, set by its organization's admins),
else the POLICY_EDITION setting (default `current`, the newest edition). A workspace's choice is
kept as chosen: `current` follows the newest edition, a dated name stays put. Resolved editions
are cached in memory for `ttl` seconds per workspace (another replica sees a change within that
time), like the language (bot/core/language.py).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core.store.clock import Clock
from bot.core.store.models import WorkspaceEdition
from policy import EditionError, get_edition, resolve_edition

log = logging.getLogger(__name__)
T = TypeVar("T")
Origin = Literal["command", "workspace", "setting"]


class Storage(Protocol):
    """What the resolver needs of `bot.core.services.Services`."""

    @property
    def clock(self) -> Clock: ...

    async def run(self, fn: Callable[[Session], T]) -> T: ...


@dataclass(frozen=True)
class EditionInForce:
    """`name`: the dated edition that answers; `chosen`: as it was chosen (`current` or a
    dated name); `origin`: who chose it."""

    name: str
    chosen: str
    origin: Origin


def workspace_edition(session: Session, team_id: str) -> str | None:
    query = select(WorkspaceEdition.edition).where(WorkspaceEdition.team_id == team_id)
    return session.scalar(query)


class EditionResolver:
    def __init__(
        self, services: Storage, default: str, *, ttl: float = 60.0, size: int = 10_000
    ) -> None:
        resolve_edition(default)  # an unknown default is a bug of the caller: fail at start
        self._services = services
        self.default = default
        self._ttl = ttl
        self._size = size
        self._cache: OrderedDict[str, tuple[float, EditionInForce]] = OrderedDict()

    def setting(self) -> EditionInForce:
        return EditionInForce(resolve_edition(self.default), self.default, "setting")

    async def for_team(self, team_id: str | None, named: str | None = None) -> EditionInForce:
        """The edition that answers in `team_id`; `named` (a command's `edition X`) wins."""
        if named is not None:
            return EditionInForce(resolve_edition(named), named, "command")
        if not team_id:
            return self.setting()
        hit = self._cache.get(team_id)
        if hit is not None and hit[0] > time.monotonic():
            self._cache.move_to_end(team_id)
            return hit[1]
        chosen = await self._services.run(lambda s: workspace_edition(s, team_id))
        found = self.setting()
        if chosen is not None:
            try:
                found = EditionInForce(resolve_edition(chosen), chosen, "workspace")
            except EditionError:  # an edition this version does not have any more
                log.warning(
                    "workspace %s chose edition %r, which is unknown: using %s",
                    team_id,
                    chosen,
                    self.default,
                )
        self._cache[team_id] = (time.monotonic() + self._ttl, found)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found

    async def set(self, team_id: str, edition: str | None, *, by: str) -> None:
        """Set (or with None, remove) a workspace's edition (a name resolve_edition knows)."""
        if edition is not None:
            resolve_edition(edition)

        def write(session: Session) -> None:
            session.execute(delete(WorkspaceEdition).where(WorkspaceEdition.team_id == team_id))
            if edition is not None:
                session.add(
                    WorkspaceEdition(
                        team_id=team_id,
                        edition=edition,
                        updated_at=self._services.clock(),
                        updated_by=by,
                    )
                )

        await self._services.run(write)
        self._cache.pop(team_id, None)


def invitation_delegated_admin(edition: str, asked: bool) -> bool:
    """Whether an invitation link carries DAP=true: only when asked and `edition`'s
    invitations still may (not under 2026-11, where DAP ended on 2023-10-09)."""
    return asked and get_edition(edition).dap_ended_rule() is None
