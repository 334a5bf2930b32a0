"""`/multichannel language`: show or choose the language (per user; per workspace for admins)."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.invitations import whoami
from bot.core.language import TEAM, USER
from bot.core.services import Services
from bot.core.store.directory import is_admin, org_for_team
from bot.core.ui import surfaces
from bot.core.ui.commands import LanguageCommand


async def handle_language(
    services: Services, client: AsyncWebClient, command: LanguageCommand, payload: dict[str, Any]
) -> dict[str, Any]:
    user_id, team_id = payload["user_id"], payload.get("team_id") or ""
    resolver = services.language
    if command.choice is None:
        facts = await resolver.explain(client, user_id, team_id)
        return surfaces.notice_message("language_status", lang=facts["current"] or "en", **facts)
    lang = None if command.choice == "auto" else command.choice
    if not command.workspace:
        await resolver.set(USER, user_id, lang, by=user_id)
        answer_lang = await resolver.for_user(client, user_id, team_id)
        code = "language_auto" if lang is None else "language_set"
        return surfaces.notice_message(code, lang=answer_lang, **{"lang_chosen": lang})
    # the workspace default: admins of the workspace's organization only
    who = await whoami(services, team_id)
    current = await resolver.for_user(client, user_id, team_id)
    if who is None:
        return surfaces.notice_message("not_in_directory", lang=current, team=team_id)
    allowed = await services.run(
        lambda s: is_admin(s, org_for_team(s, team_id), user_id)  # type: ignore[arg-type]
    )
    if not allowed:
        return surfaces.notice_message("admins_only", lang=current, admins="—")
    await resolver.set(TEAM, team_id, lang, by=user_id)
    answer_lang = await resolver.for_user(client, user_id, team_id)
    return surfaces.notice_message(
        "workspace_language_set", lang=answer_lang, **{"lang_chosen": lang}
    )
