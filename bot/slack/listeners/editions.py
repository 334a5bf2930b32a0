"""`/multichannel edition`: show the policy edition in force, or (admins) choose the
workspace's."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.invitations import whoami
from bot.core.services import Services
from bot.core.store.directory import is_admin, org_for_team
from bot.core.ui import surfaces
from bot.core.ui.commands import EDITION_DEFAULT, EditionCommand
from policy import edition_names, get_edition


async def handle_edition(
    services: Services,
    client: AsyncWebClient,
    command: EditionCommand,
    payload: dict[str, Any],
    lang: str,
) -> dict[str, Any]:
    user_id, team_id = payload["user_id"], payload.get("team_id") or ""
    if command.choice is None:
        in_force = await services.editions.for_team(team_id)
        edition = get_edition(in_force.name)
        return surfaces.notice_message(
            "edition_status",
            lang=lang,
            edition=in_force.name,
            chosen=in_force.chosen,
            origin=in_force.origin,
            title=edition.title,
            published=edition.published,
            valid=[*edition_names(), EDITION_DEFAULT],
        )
    # the workspace's edition: admins of the workspace's organization only
    who = await whoami(services, team_id)
    if who is None:
        return surfaces.notice_message("not_in_directory", lang=lang, team=team_id)
    allowed = await services.run(
        lambda s: is_admin(s, org_for_team(s, team_id), user_id)  # type: ignore[arg-type]
    )
    if not allowed:
        return surfaces.notice_message("admins_only", lang=lang, admins="—")
    chosen = None if command.choice == EDITION_DEFAULT else command.choice
    await services.editions.set(team_id, chosen, by=user_id)
    in_force = await services.editions.for_team(team_id)
    code = "edition_default" if chosen is None else "edition_set"
    return surfaces.notice_message(code, lang=lang, edition=in_force.name, chosen=in_force.chosen)
