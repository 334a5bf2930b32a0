"""`/multichannel language`: show or choose the language (per user; per workspace for admins).

A choice is acknowledged before it is saved: the answer never waits on the database's write
lock (with a lock held elsewhere, `DeadlineApp` sends the acknowledgement at its deadline while
the write waits). A write the database refuses is reported to the user, so that a choice that
was not saved is never taken for one that was."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.invitations import whoami
from bot.core.language import TEAM, USER
from bot.core.services import Services
from bot.core.store.directory import is_admin, org_for_team
from bot.core.ui import surfaces
from bot.core.ui.commands import LanguageCommand
from bot.slack.listeners import save_after_answer


async def handle_language(
    services: Services,
    client: AsyncWebClient,
    command: LanguageCommand,
    payload: dict[str, Any],
    ack: AsyncAck,
) -> None:
    user_id, team_id = payload["user_id"], payload.get("team_id") or ""
    resolver = services.language
    if command.choice is None:
        facts = await resolver.explain(client, user_id, team_id)
        message = surfaces.notice_message("language_status", lang=facts["current"] or "en", **facts)
        await ack(**surfaces.ack_fields(message))
        return
    lang = None if command.choice == "auto" else command.choice
    if command.workspace:
        # the workspace default: admins of the workspace's organization only
        who = await whoami(services, team_id)
        current = await resolver.for_user(client, user_id, team_id)
        if who is None:
            refusal = surfaces.notice_message("not_in_directory", lang=current, team=team_id)
        elif not await services.run(
            lambda s: is_admin(s, org_for_team(s, team_id), user_id)  # type: ignore[arg-type]
        ):
            refusal = surfaces.notice_message("admins_only", lang=current, admins="—")
        else:
            refusal = None
        if refusal is not None:
            await ack(**surfaces.ack_fields(refusal))
            return
    scope, subject = (TEAM, team_id) if command.workspace else (USER, user_id)
    answer_lang = await resolver.would_be(client, user_id, team_id, scope=scope, lang=lang)
    code = (
        "workspace_language_set"
        if command.workspace
        else ("language_auto" if lang is None else "language_set")
    )
    answer = surfaces.notice_message(code, lang=answer_lang, lang_chosen=lang)
    await ack(**surfaces.ack_fields(answer))
    await save_after_answer(
        client,
        payload,
        resolver.set(scope, subject, lang, by=user_id),
        what="a language choice",
        failed=surfaces.notice_message("language_not_saved", lang=answer_lang),
    )
