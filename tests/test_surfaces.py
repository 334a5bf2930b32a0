"""Every Slack surface renders and validates with edge-case data: empty, very long, unicode and
markup characters. A template bug fails here, never as `invalid_blocks` in front of a user."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bot.core.ui import surfaces
from bot.core.ui.commands import UsageError
from bot.core.ui.metadata import AssessOrigin
from bot.core.ui.render import TEMPLATE_DIR
from policy import Cloud, Facts, Kind, Role, Source, Subscription, evaluate

NASTY = [
    "",
    "Contoso",
    "<!channel> & <@U123> <https://evil.example|click here> *bold* _it_ `code`",
    "Ñandú Ünïcödé 日本語 🎉👩‍👩‍👧‍👦 " * 3,
    "x" * 100,
    '"quotes" \\backslash\\ {{ jinja }} {% raw %}',
]


def all_decisions() -> list[object]:
    subs = [Subscription(source=s, kind=k) for s in Source for k in Kind]
    out = []
    for role in [*Role, None]:
        for cloud, flag in itertools.product(Cloud, (False, True)):
            out.append(
                evaluate(
                    Facts(
                        role=role, cloud=cloud, customer_is_csp_partner=flag, subscriptions=subs[:2]
                    )
                )
            )
        # every subscription at once: the biggest message we can make
        out.append(evaluate(Facts(role=role, subscriptions=subs)))
    return out


@pytest.mark.parametrize("customer", NASTY)
def test_decision_messages_validate(customer: str) -> None:
    for decision in all_decisions():
        for action in (None, "create", "ask_provider"):
            message = surfaces.decision_message(
                decision,
                customer=customer or None,
                invitation_action=action,  # type: ignore[arg-type]
            )
            assert len(message["blocks"]) <= 50
            shared = surfaces.decision_message(decision, customer=customer, shared_by="U0SHARE001")
            assert shared["response_type"] == "in_channel"
            shown = json.dumps([b for b in message["blocks"] if b["type"] != "actions"])
            assert "<!channel>" not in shown and "<@U123>" not in shown
            assert "<https://evil" not in shown


def test_biggest_decision_fits_the_block_limits() -> None:
    big = max(all_decisions(), key=lambda d: len(d.steps))  # type: ignore[attr-defined]
    message = surfaces.decision_message(big, customer="x" * 100, invitation_action="create")  # type: ignore[arg-type]
    assert len(message["blocks"]) <= 50
    # the button value (context for Share) fits Slack's 2000 characters
    value = message["blocks"][-1]["elements"][0]["value"]
    assert len(value) <= 2000


@pytest.mark.parametrize("typed", NASTY)
def test_help_and_usage_errors_validate(typed: str) -> None:
    surfaces.help_message(typed=typed or None, suggestion="assess")
    for code, params in [
        ("bad_subscription", {"value": typed, "sources": ["ea"], "kinds": ["license"]}),
        ("bad_source", {"value": typed, "valid": ["ea"], "suggestion": None}),
        ("bad_kind", {"value": typed, "valid": ["license"]}),
        ("bad_role", {"value": typed, "valid": ["direct"]}),
        ("bad_cloud", {"value": typed, "valid": ["global"]}),
        ("missing_role", {}),
        ("missing_cloud", {}),
        ("no_subscription", {}),
        ("too_many_subscriptions", {"limit": 20}),
        ("bad_commerce", {"value": typed, "valid": ["new", "legacy"]}),
        ("bad_edition", {"value": typed, "valid": ["2017-03", "current"]}),
        ("missing_edition", {"valid": ["2017-03", "current"]}),
        ("conflicting_editions", {"editions": ["2017-03", "2026-11"]}),
        ("non_csp_tenant_needs_csp_partner", {}),
        ("something_new", {}),
    ]:
        message = surfaces.usage_error_message(UsageError(code, **params))
        assert "<!channel>" not in json.dumps(message)


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize("customer", NASTY)
def test_assess_modal_validates(role: Role | None, customer: str) -> None:
    origin = AssessOrigin(channel_id="C0123", response_url="https://hooks.slack.com/" + "x" * 900)
    view = surfaces.assess_modal(origin=origin, role=role, customer=customer or None)
    assert len(view["private_metadata"]) <= 3000


def test_other_surfaces_validate() -> None:
    surfaces.error_message("ERR-0000ABCD")
    surfaces.notice_message("stale_button")
    surfaces.notice_message("shared")
    from bot.core.home import HomeData

    surfaces.home_view(home=HomeData())  # richer Home tabs: tests/invitations/
    errors = surfaces.modal_errors({"subscriptions": "no_subscription", "customer": "blank"})
    assert set(errors["errors"]) == {"subscriptions", "customer"}


def test_every_slack_template_is_exercised() -> None:
    """A new template must get a test here."""
    names = {p.name for p in (TEMPLATE_DIR / "slack").glob("*.json.j2")}
    assert names == {
        "pc_connect.json.j2",  # tests/test_i18n.py: test_pc_connect_message_in_both_languages
        "help.json.j2",
        "usage_error.json.j2",
        "error.json.j2",
        "notice.json.j2",
        "decision.json.j2",
        "compare.json.j2",  # tests/test_i18n.py, tests/slack/test_interactions.py
        "assess_modal.json.j2",
        "modal_errors.json.j2",
        "home.json.j2",
        # tested in tests/invitations/test_invitation_surfaces.py
        "invitation.json.j2",
        "invite_modal.json.j2",
        "request_modal.json.j2",
        "reseller_refusal.json.j2",
        "status.json.j2",
        "admin.json.j2",
        # tested in tests/notify/test_notify_templates.py
        "notification.json.j2",
        "unmatched.json.j2",
        "gdap_modal.json.j2",  # tests/test_i18n.py
        "replay.json.j2",  # tests/test_i18n.py and tests/invitations/test_decision_replay.py
        "setup_modal.json.j2",  # tests/test_i18n.py and tests/invitations/test_onboarding.py
        "join_code_modal.json.j2",  # likewise
        "join_request.json.j2",  # likewise
        "org_settings_modal.json.j2",  # likewise
        # tests/test_i18n.py and tests/invitations/test_org_admin.py
        "org_details_modal.json.j2",
        "code_modal.json.j2",  # likewise
        # tests/test_i18n.py and tests/invitations/test_shared_channels.py
        "shared_reseller_modal.json.j2",
    }, "add the new template to tests/test_surfaces.py"
    assert Path(TEMPLATE_DIR / "_labels.j2").exists()
