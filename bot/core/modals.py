"""Modals the bot opens, remembered server-side (docs/security.md).

A modal's context (where it was opened, which decision, which invitation) is what the server
knew when it opened it; it is kept in `modal_views` under Slack's view id, with the team and user
it was opened for. The submission's `private_metadata` is not trusted: `recall` gives the stored
context back only to the same user of the same team. `acting_once` makes a submission act once:
Slack (or anyone replaying a signed submission) may deliver the same view several times; the
first one claims the view, the others raise AlreadySubmitted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.orm import Session

from bot.core.services import Services
from bot.core.store.models import ModalView

log = logging.getLogger(__name__)
KEEP = timedelta(days=7)  # Slack closes a modal long before; older rows are pruned


async def open_modal(
    services: Services,
    client: AsyncWebClient,
    *,
    trigger_id: str,
    view: dict[str, Any],
    team_id: str,
    user_id: str,
) -> None:
    """views.open, then remember the view's context for its submission."""
    opened = await client.views_open(trigger_id=trigger_id, view=view)
    view_id = (opened.get("view") or {}).get("id")
    if not isinstance(view_id, str):
        log.warning("views.open returned no view id: its submission will have no context")
        return
    row = ModalView(
        view_id=view_id,
        team_id=team_id,
        user_id=user_id,
        callback_id=str(view.get("callback_id", "")),
        context=str(view.get("private_metadata") or ""),
        opened_at=services.clock(),
    )

    def write(session: Session) -> None:
        session.merge(row)

    await services.run(write)


async def recall(services: Services, view: dict[str, Any], *, team_id: str, user_id: str) -> str:
    """The context stored when the view was opened for this user of this team, else "" (an
    unknown view, or someone else's: no context at all)."""
    view_id = view.get("id")
    if not isinstance(view_id, str):
        return ""

    def read(session: Session) -> str:
        row = session.get(ModalView, view_id)
        if row is None or (row.team_id, row.user_id) != (team_id, user_id):
            return ""
        return row.context

    return await services.run(read)


class AlreadySubmitted(Exception):
    """This view's submission was acted on already."""


@asynccontextmanager
async def acting_once(
    services: Services, view: dict[str, Any], *, undo_on: tuple[type[Exception], ...]
) -> AsyncIterator[None]:
    """Run the body for the first submission of `view` only (a later one raises
    AlreadySubmitted). When the body raises one of `undo_on` (errors raised before anything
    changed), the view may be submitted again: the user corrects the form and retries."""
    if not await _claim(services, view):
        raise AlreadySubmitted
    try:
        yield
    except undo_on:
        await _release(services, view)
        raise


async def _claim(services: Services, view: dict[str, Any]) -> bool:
    """True for the first submission of this view; False when it was submitted already (an
    unknown view is claimed too: it has nothing to protect)."""
    view_id = view.get("id")
    if not isinstance(view_id, str):
        return True
    now = services.clock()

    def write(session: Session) -> bool:
        if session.get(ModalView, view_id) is None:
            return True
        done = cast(
            CursorResult[Any],
            session.execute(
                update(ModalView)
                .where(ModalView.view_id == view_id, ModalView.submitted_at.is_(None))
                .values(submitted_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        return done.rowcount == 1

    return await services.run(write)


async def _release(services: Services, view: dict[str, Any]) -> None:
    """Undo `_claim`."""
    view_id = view.get("id")
    if not isinstance(view_id, str):
        return

    def write(session: Session) -> None:
        session.execute(
            update(ModalView).where(ModalView.view_id == view_id).values(submitted_at=None)
        )

    await services.run(write)


def prune(session: Session, now: Any) -> int:
    """Forget modals opened more than KEEP ago (run by the maintenance pass)."""
    result = cast(
        CursorResult[Any],
        session.execute(delete(ModalView).where(ModalView.opened_at < now - KEEP)),
    )
    return result.rowcount
