"""Every Slack surface the bot sends: rendered from templates/slack/, validated before it leaves.

A surface that fails validation raises BlockKitError: a bug in a template, caught by tests
(tests/test_surfaces.py renders each one with edge-case data)."""

from __future__ import annotations

from typing import Any, Literal

from bot.blockkit import validate_message, validate_view
from bot.commands import UsageError
from bot.metadata import AssessOrigin, DecisionRef, InviteContext
from bot.render import render_json, render_text
from policy import Decision, Role, get_edition

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
    ref = invite_ref = None
    if shared_by is None:
        invite_ref = InviteContext(customer=customer, decision_id=decision.decision_id).dump()
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
            invite_ref=invite_ref,
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


# ---------------------------------------------------------------------------- invitations
def invitation_message(view: Any, *, side: str) -> dict[str, Any]:
    """One invitation's message (`view` is a bot.invitations.InvitationView)."""
    from bot.metadata import InvitationButton

    email = render_text("text/invitation_email.txt.j2", view=view) if view.link else ""
    return validate_message(
        render_json(
            "slack/invitation.json.j2",
            view=view,
            side=side,
            button=InvitationButton(i=view.id, v=view.version).dump(),
            email=email.strip(),
        )
    )


def invite_modal(
    *, context: InviteContext, resellers: list[Any], customer: str | None = None
) -> dict[str, Any]:
    return validate_view(
        render_json(
            "slack/invite_modal.json.j2",
            metadata=context.dump(),
            customer=customer,
            resellers=resellers,
        )
    )


def _reseller_rule() -> tuple[str, Any]:
    rule_id = "table-reseller-no-own-invitation"
    edition = get_edition()
    return rule_id, edition.citation(edition.rule(rule_id))


def request_modal(
    *, context: InviteContext, providers: list[Any], customer: str | None, lang: str = "en"
) -> dict[str, Any]:
    _, citation = _reseller_rule()
    return validate_view(
        render_json(
            "slack/request_modal.json.j2",
            metadata=context.dump(),
            customer=customer,
            providers=providers,
            citation=citation,
            lang=lang,
        )
    )


def reseller_refusal(
    *, context: InviteContext, providers: list[Any], lang: str = "en"
) -> dict[str, Any]:
    rule_id, citation = _reseller_rule()
    return validate_message(
        render_json(
            "slack/reseller_refusal.json.j2",
            rule_id=rule_id,
            citation=citation,
            providers=providers,
            context=context.dump(),
            lang=lang,
        )
    )


def status_message(*, org: Any, views: list[Any], customer: str | None) -> dict[str, Any]:
    return validate_message(
        render_json("slack/status.json.j2", org=org, views=views, customer=customer)
    )


def admin_message(**context: Any) -> dict[str, Any]:
    return validate_message(render_json("slack/admin.json.j2", **context))
