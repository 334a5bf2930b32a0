"""Every Slack surface the bot sends: rendered from templates/slack/ in the reader's language,
validated before it leaves.

A surface that fails validation raises BlockKitError: a bug in a template, caught by tests
(tests/test_surfaces.py and friends render each one with edge-case data, in every language)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from bot.core.ui.blockkit import validate_message, validate_view
from bot.core.ui.commands import UsageError
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from bot.core.ui.metadata import (
    AssessOrigin,
    DecisionRef,
    GdapContext,
    InvitationButton,
    InviteContext,
)
from bot.core.ui.render import render_json, render_text
from policy import DEFAULT_EDITION, Decision, Role, available_editions, get_edition

InvitationAction = Literal["create", "ask_provider"] | None
EN = DEFAULT_LANGUAGE


def _message(name: str, lang: str, **context: Any) -> dict[str, Any]:
    return validate_message(render_json(name, lang=lang, **context))


def _view(name: str, lang: str, **context: Any) -> dict[str, Any]:
    return validate_view(render_json(name, lang=lang, **context))


def help_message(
    *, typed: str | None = None, suggestion: str | None = None, lang: str = EN
) -> dict[str, Any]:
    return _message("slack/help.json.j2", lang, typed=typed, suggestion=suggestion)


def usage_error_message(error: UsageError, *, lang: str = EN) -> dict[str, Any]:
    return _message("slack/usage_error.json.j2", lang, code=error.code, params=error.params)


def error_message(reference: str, *, lang: str = EN) -> dict[str, Any]:
    return _message("slack/error.json.j2", lang, reference=reference)


def notice_message(code: str, *, lang: str = EN, **params: Any) -> dict[str, Any]:
    return _message("slack/notice.json.j2", lang, code=code, params=params)


def pc_connect_message(*, url: str, org: str, lang: str = EN) -> dict[str, Any]:
    """The one-time "Sign in with Microsoft" link of "Connect Partner Center"."""
    return _message("slack/pc_connect.json.j2", lang, url=url, org=org)


def invitation_action_for(decision: Decision, *, in_directory: bool = True) -> InvitationAction:
    """Which invitation button a decision offers. None to a workspace that is not in the
    partner directory: creating or asking for an invitation needs an organization, and a
    button that is then refused is worse than none."""
    if not in_directory:
        return None
    codes = set(decision.step_codes())
    if codes & {"send_invitation_to_customer", "send_invitation_via_reseller"}:
        return "create"
    # 2017-03: the provider's invitation; 2026-11: the reseller sends its own from Partner
    # Center, or (this button) asks its provider to create one here
    if codes & {"get_invitation_from_direct_partner", "send_indirect_reseller_invitation"}:
        return "ask_provider"
    return None


# A decision id's stand-in while rendering: same length as a UUID, so every length limit that
# held for the cached surface holds once the real id is swapped in.
_ID_STANDIN = "decision-id-standin-0123456789abcdef"
assert len(_ID_STANDIN) == 36


def decision_message(
    decision: Decision,
    *,
    customer: str | None = None,
    lang: str = EN,
    shared_by: str | None = None,
    invitation_action: InvitationAction = None,
) -> dict[str, Any]:
    """The decision as a message."""
    if len(decision.decision_id) != len(_ID_STANDIN):
        return _decision_message(decision, customer, lang, shared_by, invitation_action)
    cached = _cached_decision(decision, customer, lang, shared_by, invitation_action)[0]
    return dict(json.loads(cached.replace(_ID_STANDIN, decision.decision_id)))


ACK_KEYS = ("response_type", "text", "blocks")


def ack_fields(message: dict[str, Any]) -> dict[str, Any]:
    """What of a message a slash command's acknowledgement carries."""
    return {k: message[k] for k in ACK_KEYS if k in message}


def decision_ack(
    decision: Decision,
    *,
    decision_id: str | None = None,
    lang: str = EN,
    invitation_action: InvitationAction = None,
) -> str:
    """The decision as the JSON body of a slash command's acknowledgement (the message's
    response_type, text and blocks), serialized: no dict is built or dumped per command.
    `decision_id` replaces the decision's own (for a shared decision from `policy.decide`)."""
    decision_id = decision_id or decision.decision_id
    if len(decision_id) != len(_ID_STANDIN):
        with_id = decision.model_copy(update={"decision_id": decision_id})
        return json.dumps(
            ack_fields(_decision_message(with_id, None, lang, None, invitation_action))
        )
    cached = _cached_decision(decision, None, lang, None, invitation_action)[1]
    return cached.replace(_ID_STANDIN, decision_id)


def _cached_decision(
    decision: Decision,
    customer: str | None,
    lang: str,
    shared_by: str | None,
    invitation_action: InvitationAction,
) -> tuple[str, str]:
    """(message JSON, acknowledgement JSON) with the id stand-in. Rendering and validating cost
    ~3 ms, the same for every decision on the same facts: the validated surface is cached and
    the real decision id swapped in on the way out. bench/ack.py measures it."""
    key = (decision.facts, decision.policy_edition, customer, lang, shared_by, invitation_action)
    cached = _DECISION_CACHE.get(key)
    if cached is None:
        standin = decision.model_copy(update={"decision_id": _ID_STANDIN})
        surface = _decision_message(standin, customer, lang, shared_by, invitation_action)
        cached = (
            json.dumps(surface),
            json.dumps(ack_fields(surface)),
        )
        _DECISION_CACHE[key] = cached
        if len(_DECISION_CACHE) > _DECISION_CACHE_SIZE:
            _DECISION_CACHE.pop(next(iter(_DECISION_CACHE)))
    return cached


_DECISION_CACHE: dict[tuple[Any, ...], tuple[str, str]] = {}
_DECISION_CACHE_SIZE = 2048


def _decision_message(
    decision: Decision,
    customer: str | None,
    lang: str,
    shared_by: str | None,
    invitation_action: InvitationAction,
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
    return _message(
        "slack/decision.json.j2",
        lang,
        decision=decision,
        edition=get_edition(decision.policy_edition),
        customer=customer,
        ref=ref,
        invite_ref=invite_ref,
        shared_by=shared_by,
        invitation_action=invitation_action,
    )


def replay_message(found: Any, *, lang: str = EN) -> dict[str, Any]:
    """`/multichannel decision ID`: a logged decision (`found`, a bot.core.replay.Replay)
    replayed, between who asked it and when, and what today's default edition answers."""

    editions = {name: get_edition(name) for name in available_editions()}
    parts = render_json("slack/replay.json.j2", lang=lang, r=found, editions=editions)
    body: list[dict[str, Any]] = []
    if found.decision is not None:
        body = _decision_message(found.decision, found.customer_name, lang, None, None)["blocks"]
        body = [b for b in body if b.get("block_id") != "decision_actions"]
    message = {
        "response_type": "ephemeral",
        "text": parts["text"],
        "blocks": [*parts["head"], *body, *parts["tail"]],
    }
    return validate_message(message)


def compare_message(comparison: Any, *, lang: str = EN) -> dict[str, Any]:
    """ "What would the other edition say?": `comparison` is a policy.compare.Comparison."""
    return _message(
        "slack/compare.json.j2",
        lang,
        comparison=comparison,
        here=get_edition(comparison.decision.policy_edition),
        there=get_edition(comparison.other.policy_edition),
    )


def assess_modal(
    *, origin: AssessOrigin, role: Role | None = None, customer: str | None = None, lang: str = EN
) -> dict[str, Any]:
    return _view(
        "slack/assess_modal.json.j2",
        lang,
        role=role.value if role else None,
        metadata=origin.dump(),
        customer=customer,
    )


def modal_errors(errors: dict[str, str], *, lang: str = EN) -> dict[str, Any]:
    """`response_action: errors`; keys are input block ids, values error codes."""
    return dict(render_json("slack/modal_errors.json.j2", lang=lang, errors=errors))


def setup_modal(*, lang: str = EN) -> dict[str, Any]:
    """ "Set up your organization" (bot/core/onboarding.py)."""
    return _view("slack/setup_modal.json.j2", lang)


def org_settings_modal(*, settings: Any, lang: str = EN) -> dict[str, Any]:
    """A directory admin's notification channel and admins (`settings` a
    bot.core.org_admin.OrgSettings)."""
    return _view("slack/org_settings_modal.json.j2", lang, settings=settings)


def join_code_modal(
    *, code: str, provider: str, expires_at: datetime, purpose: str = "provider", lang: str = EN
) -> dict[str, Any]:
    """A new one-time code, shown once (bot/core/joining.py): a provider's join code, or an
    organization's workspace code (`purpose` "workspace")."""
    return _view(
        "slack/join_code_modal.json.j2",
        lang,
        code=code,
        provider=provider,
        expires_at=expires_at,
        purpose=purpose,
    )


def code_modal(*, purpose: str, lang: str = EN) -> dict[str, Any]:
    """Enter a one-time code: a join code ("provider") or a workspace code ("workspace")."""
    return _view("slack/code_modal.json.j2", lang, purpose=purpose)


def org_details_modal(*, details: Any, lang: str = EN) -> dict[str, Any]:
    """A directory admin's organization details (`details` a bot.core.org_admin.OrgDetails)."""
    return _view("slack/org_details_modal.json.j2", lang, details=details)


def shared_reseller_modal(*, lang: str = EN) -> dict[str, Any]:
    """An indirect provider's admin adds a reseller reached through a Slack Connect channel."""
    return _view("slack/shared_reseller_modal.json.j2", lang)


def join_request_message(
    *, request: Any, reseller: Any, provider: Any, lang: str = EN
) -> dict[str, Any]:
    """A reseller's request to buy through `provider`, with Approve / Decline while pending
    (`request` a bot.core.joining.RequestView, the others OrgViews)."""
    return _message(
        "slack/join_request.json.j2", lang, request=request, reseller=reseller, provider=provider
    )


def home_view(*, lang: str = EN, **context: Any) -> dict[str, Any]:
    return _view("slack/home.json.j2", lang, **context)


# ---------------------------------------------------------------------------- invitations
def invitation_message(
    view: Any, *, side: str, lang: str = EN, gdap: str | None = None
) -> dict[str, Any]:
    """One invitation's message (`view` is a bot.core.snapshots.InvitationView). `gdap`: the
    GDAP button this side is offered (a GdapOffer), decided by the caller from the edition in
    force in this side's workspace (bot/core/gdap.py); None: none."""
    email = render_text("text/invitation_email.txt.j2", lang=lang, view=view) if view.link else ""
    return _message(
        "slack/invitation.json.j2",
        lang,
        view=view,
        side=side,
        button=InvitationButton(i=view.id, v=view.version).dump(),
        email=email.strip(),
        gdap=gdap,
    )


def _dap_ended(edition: str) -> tuple[str, Any] | None:
    """(rule id, citation) of the rule saying invitations carry no delegated admin any more,
    under `edition`; None when its invitations still may (2017-03)."""
    ed = get_edition(edition)
    rule = ed.dap_ended_rule()
    return None if rule is None else (rule.id, ed.citation(rule))


def invite_modal(
    *,
    context: InviteContext,
    resellers: list[Any],
    customer: str | None = None,
    lang: str = EN,
    edition: str = DEFAULT_EDITION,
) -> dict[str, Any]:
    """Create an invitation. Under an edition where invitations no longer carry delegated
    admin (2026-11), there is no checkbox for it: the form says GDAP is a separate step."""
    return _view(
        "slack/invite_modal.json.j2",
        lang,
        metadata=context.dump(),
        customer=customer,
        resellers=resellers,
        dap_ended=_dap_ended(edition),
        edition=get_edition(edition),
    )


#: the rule that says how an indirect reseller gets its invitation, by edition: 2017-03 its
#: provider creates it; since 2017-06 (edition 2026-11) the reseller may send its own
_RESELLER_RULES = ("table-reseller-no-own-invitation", "reseller-own-invitation")


def _reseller_rule(edition: str = DEFAULT_EDITION) -> tuple[str, Any]:
    ed = get_edition(edition)
    ids = {r.id for r in ed.rules}
    rule_id = next(r for r in _RESELLER_RULES if r in ids)
    return rule_id, ed.citation(ed.rule(rule_id))


def request_modal(
    *,
    context: InviteContext,
    providers: list[Any],
    customer: str | None,
    lang: str = EN,
    edition: str = DEFAULT_EDITION,
) -> dict[str, Any]:
    rule_id, citation = _reseller_rule(edition)
    return _view(
        "slack/request_modal.json.j2",
        lang,
        metadata=context.dump(),
        customer=customer,
        providers=providers,
        citation=citation,
        own_invitation=rule_id == "reseller-own-invitation",
        dap_ended=_dap_ended(edition),
        edition=get_edition(edition),
    )


def gdap_modal(
    *, view: Any, context: GdapContext, by: str, holder: str, lang: str = EN
) -> dict[str, Any]:
    """Delegated admin without Microsoft Graph: what `by` creates in its own Partner Center
    (for `holder`, as `context.k` says), and a field for the relationship's id (`view` is a
    bot.core.snapshots.InvitationView)."""
    return _view(
        "slack/gdap_modal.json.j2",
        lang,
        v=view,
        kind=context.k,
        by=by,
        holder=holder,
        metadata=context.dump(),
    )


def reseller_refusal(
    *, context: InviteContext, providers: list[Any], lang: str = EN, edition: str = DEFAULT_EDITION
) -> dict[str, Any]:
    """`/multichannel invite` by an indirect reseller: under 2017-03 a refusal (its provider
    creates the invitation); under an edition where resellers send their own (2026-11), where
    to do it in Partner Center. Both offer to ask the provider here."""
    rule_id, citation = _reseller_rule(edition)
    return _message(
        "slack/reseller_refusal.json.j2",
        lang,
        rule_id=rule_id,
        citation=citation,
        own_invitation=rule_id == "reseller-own-invitation",
        providers=providers,
        context=context.dump(),
        edition=get_edition(edition),
    )


def status_message(
    *, org: Any, views: list[Any], customer: str | None, lang: str = EN
) -> dict[str, Any]:
    return _message("slack/status.json.j2", lang, org=org, views=views, customer=customer)


def admin_message(*, lang: str = EN, **context: Any) -> dict[str, Any]:
    return _message("slack/admin.json.j2", lang, **context)


# ---------------------------------------------------------------------------- notifications
NotificationChange = Literal[
    "accepted",
    "delegated_admin_requested",
    "delegated_admin_granted",
    "reseller_gdap_requested",  # the reseller's own GDAP relationship (edition 2026-11)
    "reseller_gdap_granted",
    "access_ended",
]
#: the GDAP button a side is offered (bot/core/gdap.py GdapKind): for the provider itself
#: ("own"), by the provider for its reseller ("for_reseller"), for the reseller itself
GdapOffer = Literal["own", "for_reseller", "reseller_own"]
NotificationAudience = Literal["provider", "dm", "reseller"]


def notification_message(
    view: Any,
    *,
    change: NotificationChange,
    audience: NotificationAudience,
    event_name: str | None = None,
    linked_by: str | None = None,
    approval_url: str | None = None,
    gdap: str | None = None,
    lang: str = EN,
) -> dict[str, Any]:
    """A notification about an invitation's change (`view` is an InvitationView). `gdap`: the
    GDAP button this audience is offered (a GdapOffer: after an acceptance, "Request delegated
    admin (GDAP) for <itself>" under 2026-11, "Request delegated admin for <reseller>" for the
    provider under 2017-03), or None."""
    button = None
    if gdap is not None:
        button = InvitationButton(i=view.id, v=view.version).dump()
    return _message(
        "slack/notification.json.j2",
        lang,
        view=view,
        change=change,
        audience=audience,
        button=button,
        gdap=gdap,
        event_name=event_name,
        linked_by=linked_by,
        approval_url=approval_url,
    )


def unmatched_message(
    *,
    event: dict[str, Any],
    options: list[dict[str, str]],
    more: int = 0,
    linked: dict[str, str] | None = None,
    lang: str = EN,
) -> dict[str, Any]:
    """An acceptance that matches no invitation, with a select to link it."""
    return _message(
        "slack/unmatched.json.j2", lang, event=event, options=options, more=more, linked=linked
    )
