"""Every Slack surface the bot sends: rendered from templates/slack/, validated before it leaves.

A surface that fails validation raises BlockKitError: a bug in a template, caught by tests
(tests/test_surfaces.py renders each one with edge-case data)."""

from __future__ import annotations

from typing import Any, Literal

from bot.blockkit import validate_message, validate_view
from bot.commands import UsageError
from bot.metadata import AssessOrigin, DecisionRef
from bot.render import render_json
from policy import Decision, Role

InvitationAction = Literal["create", "ask_provider"] | None


def help_message(*, typed: str | None = None, suggestion: str | None = None) -> dict[str, Any]:
    return validate_message(render_json("slack/help.json.j2", typed=typed, suggestion=suggestion))


def usage_error_message(error: UsageError) -> dict[str, Any]:
    return validate_message(
        render_json("slack/usage_error.json.j2", code=error.code, params=error.params)
    )


def error_message(reference: str) -> dict[str, Any]:
    return validate_message(render_json("slack/error.json.j2", reference=reference))


def notice_message(code: str, **params: Any) -> dict[str, Any]:
    return validate_message(render_json("slack/notice.json.j2", code=code, params=params))


def invitation_action_for(decision: Decision) -> InvitationAction:
    """Which invitation button a decision offers (the invitations feature wires it up)."""
    codes = set(decision.step_codes())
    if codes & {"send_invitation_to_customer", "send_invitation_via_reseller"}:
        return "create"
    if "get_invitation_from_direct_partner" in codes:
        return "ask_provider"
    return None


def decision_message(
    decision: Decision,
    *,
    customer: str | None = None,
    lang: str = "en",
    shared_by: str | None = None,
    invitation_action: InvitationAction = None,
) -> dict[str, Any]:
    ref = None
    if shared_by is None:
        ref = DecisionRef(
            decision_id=decision.decision_id,
            edition=decision.policy_edition,
            facts=decision.facts,
            customer=customer,
        ).dump()
    return validate_message(
        render_json(
            "slack/decision.json.j2",
            decision=decision,
            customer=customer,
            lang=lang,
            ref=ref,
            shared_by=shared_by,
            invitation_action=invitation_action,
        )
    )


def assess_modal(
    *, origin: AssessOrigin, role: Role | None = None, customer: str | None = None
) -> dict[str, Any]:
    return validate_view(
        render_json(
            "slack/assess_modal.json.j2",
            role=role.value if role else None,
            metadata=origin.dump(),
            customer=customer,
        )
    )


def modal_errors(errors: dict[str, str]) -> dict[str, Any]:
    """`response_action: errors`; keys are input block ids, values error codes."""
    return dict(render_json("slack/modal_errors.json.j2", errors=errors))


def home_view() -> dict[str, Any]:
    return validate_view(render_json("slack/home.json.j2"))
