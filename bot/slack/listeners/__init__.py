"""Listeners, one module per kind (commands, actions, views, events), each with register(app).

Thin by rule: acknowledge, parse into a typed command, ask the policy or a service, render a
surface (bot/core/ui/surfaces.py), answer. Nothing here decides policy or words a sentence."""

from typing import Any


def user_and_team(body: dict[str, Any]) -> tuple[str, str]:
    """The acting user's id and Slack team id, from an action, view or command payload."""
    user = body.get("user") or {}
    user_id = body.get("user_id") or user.get("id") or ""
    team_id = body.get("team_id") or (body.get("team") or {}).get("id") or user.get("team_id")
    return str(user_id), str(team_id or "")
