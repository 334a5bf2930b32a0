"""`/multichannel edition`: show the policy edition in force, or (admins) choose the
workspace's.

A choice is acknowledged before it is saved, as a language choice is (bot/slack/listeners/
language.py): the answer never waits on the database's write lock, and a save the database
refuses is reported to the user."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.editions import EditionInForce
from bot.core.invitations import whoami
from bot.core.services import Services
from bot.core.store.directory import is_admin, org_for_team
from bot.core.ui import surfaces
from bot.core.ui.commands import EDITION_DEFAULT, EditionCommand
from bot.slack.listeners import save_after_answer
from policy import edition_names, get_edition, resolve_edition


async def handle_edition(
    services: Services,
    client: AsyncWebClient,
    command: EditionCommand,
    payload: dict[str, Any],
    lang: str,
    ack: AsyncAck,
) -> None:
    user_id, team_id = payload["user_id"], payload.get("team_id") or ""
    answer, saves = await _answer(services, command, user_id, team_id, lang)
    await ack(**surfaces.ack_fields(answer))
    if not saves:
        return
    chosen = None if command.choice == EDITION_DEFAULT else command.choice
    await save_after_answer(
        client,
        payload,
        services.editions.set(team_id, chosen, by=user_id),
        what="a workspace edition",
        failed=surfaces.notice_message("edition_not_saved", lang=lang),
    )


async def _answer(
    services: Services, command: EditionCommand, user_id: str, team_id: str, lang: str
) -> tuple[dict[str, Any], bool]:
    """The answer, and whether a choice is to be saved after it."""
    if command.choice is None:
        in_force = await services.editions.for_team(team_id)
        edition = get_edition(in_force.name)
        status = surfaces.notice_message(
            "edition_status",
            lang=lang,
            edition=in_force.name,
            chosen=in_force.chosen,
            origin=in_force.origin,
            title=edition.title,
            published=edition.published,
            valid=[*edition_names(), EDITION_DEFAULT],
        )
        return status, False
    # the workspace's edition: admins of the workspace's organization only
    who = await whoami(services, team_id)
    if who is None:
        return surfaces.notice_message("not_in_directory", lang=lang, team=team_id), False
    allowed = await services.run(
        lambda s: is_admin(s, org_for_team(s, team_id), user_id)  # type: ignore[arg-type]
    )
    if not allowed:
        return surfaces.notice_message("admins_only", lang=lang, admins="—"), False
    chosen = None if command.choice == EDITION_DEFAULT else command.choice
    # what will be in force once saved
    in_force = (
        services.editions.setting()
        if chosen is None
        else EditionInForce(resolve_edition(chosen), chosen, "workspace")
    )
    code = "edition_default" if chosen is None else "edition_set"
    answer = surfaces.notice_message(code, lang=lang, edition=in_force.name, chosen=in_force.chosen)
    return answer, True
