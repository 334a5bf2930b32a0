"""Languages: Spanish is complete and faithful to the English messages, every Slack surface
renders and validates in both languages (and the Spanish one really comes from the catalog), the
CLI answers in Spanish with the seed page's own sentences, and language tags normalize.

The catalog is templates/locale/es/LC_MESSAGES/messages.po; `python -m bot.core.ui.i18n update`
merges new messages into it, `python -m bot.core.ui.i18n check` lists what is left to translate."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.cli.main import main as cli_main
from bot.core.home import HomeData
from bot.core.joining import RequestView
from bot.core.onboarding import SetupAccess
from bot.core.org_admin import AdminView, OrgDetails, OrgSettings
from bot.core.snapshots import InvitationView, OrgView
from bot.core.store.lifecycle import InvitationState
from bot.core.store.messages import MessageLocation
from bot.core.store.models import MessagePurpose
from bot.core.ui import i18n, surfaces
from bot.core.ui.blockkit import VIEW_TEXT_MAX, validate_message
from bot.core.ui.commands import UsageError
from bot.core.ui.i18n import TEMPLATE_DIR
from bot.core.ui.metadata import AssessOrigin, GdapContext, InviteContext, load
from bot.core.ui.mrkdwn import escape as mrkdwn_escape
from bot.core.ui.render import environment, render_json
from policy import Cloud, Facts, Kind, Role, Source, Subscription, evaluate, get_edition

LANGS = ("en", "es")
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "multichannel.es.md"

NASTY = [
    "",
    "Contoso",
    "<!channel> & <@U123> <https://evil.example|click here> *bold* _it_ `code`",
    "Ñandú Ünïcödé 日本語 🎉👩‍👩‍👧‍👦 " * 3,
    "x" * 100,
    '"quotes" \\backslash\\ {{ jinja }} {% raw %} 100% %(name)s',
]

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
BACKTICKS = re.compile(r"`[^`]+`")
SLACK_TOKEN = re.compile(r"<[^<>]+>")  # <@%(u)s>, <#%(channel)s>
EMOJI = re.compile(r":[a-z0-9_+-]+:")

#: msgid → backtick spans that a natural Spanish sentence may change. None so far: everything
#: between backticks is what the user types, and stays as is.
BACKTICK_EXCEPTIONS: dict[str, set[str]] = {}


# ---------------------------------------------------------------------------- the catalog
@cache
def catalog() -> Catalog:
    with i18n.po_path("es").open("rb") as f:
        return read_po(f, locale="es")


def entries() -> list[tuple[str, str]]:
    return [(str(m.id), str(m.string)) for m in catalog() if m.id]


def spanish(msgid: str) -> str:
    message = catalog().get(msgid)
    assert message is not None, f"not in the catalog: {msgid!r}"
    return str(message.string)


def test_spanish_is_complete() -> None:
    assert i18n.missing("es") == [], (
        "run `python -m bot.core.ui.i18n update` and translate the new ones"
    )


def test_english_is_the_source_language() -> None:
    """English needs no catalog: every message is its own English text."""
    assert i18n.DEFAULT_LANGUAGE == "en" and i18n.LANGUAGES[0] == "en"
    english = i18n.translations("en")
    for message in i18n.extract():
        if message.id:
            assert english.gettext(str(message.id)) == message.id


def test_header_is_filled_in() -> None:
    cat = catalog()
    assert not cat.fuzzy
    assert str(cat.locale) == "es"
    assert cat.last_translator == "Multichannel team"
    assert cat.language_team == "Spanish"


def test_no_fuzzy_or_obsolete_entries() -> None:
    cat = catalog()
    assert [m.id for m in cat if m.id and m.fuzzy] == []
    assert list(cat.obsolete) == []


def test_translations_keep_placeholders_and_markup() -> None:
    problems = []
    for msgid, msgstr in entries():
        if not msgstr:
            continue  # test_spanish_is_complete reports it
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr)):
            problems.append(f"placeholders differ: {msgid!r} → {msgstr!r}")
        # Jinja's newstyle gettext always %-formats: a lone % would raise at render time
        if "%" in PLACEHOLDER.sub("", msgstr).replace("%%", ""):
            problems.append(f"stray %: {msgstr!r}")
        spans = set(BACKTICKS.findall(msgid)) - BACKTICK_EXCEPTIONS.get(msgid, set())
        for span in sorted(spans):
            if span not in msgstr:
                problems.append(f"backtick span {span} lost: {msgid!r} → {msgstr!r}")
        for pattern, what in ((SLACK_TOKEN, "Slack token"), (EMOJI, "emoji")):
            if sorted(pattern.findall(msgid)) != sorted(pattern.findall(msgstr)):
                problems.append(f"{what} differs: {msgid!r} → {msgstr!r}")
        if msgid.count("*") != msgstr.count("*"):
            problems.append(f"*bold* markup differs: {msgid!r} → {msgstr!r}")
        if msgid.count("`") != msgstr.count("`"):
            problems.append(f"backtick count differs: {msgid!r} → {msgstr!r}")
        if msgid.count("\n") != msgstr.count("\n"):
            problems.append(f"line breaks differ: {msgid!r} → {msgstr!r}")
        if msgid != msgid.strip() or msgstr != msgstr.strip():
            problems.append(f"leading/trailing space: {msgid!r} → {msgstr!r}")
    assert problems == []


def _template_literals(pattern: str, glob: str = "*.json.j2") -> set[str]:
    found: set[str] = set()
    for path in (TEMPLATE_DIR / "slack").glob(glob):
        found.update(re.findall(pattern, path.read_text()))
    return found


def test_short_texts_fit_slack_limits_in_spanish() -> None:
    """Modal title/submit/close ≤ 24 characters; button and option texts ≤ 75. The rendering
    tests below check the same through validate_*, this names the message at fault."""
    view_texts = _template_literals(
        r'"(?:title|submit|close)": \{"type": "plain_text", "text": _\("([^"]+)"\)',
        "*modal*.json.j2",
    )
    assert {"Assess a customer", "Assess", "Cancel", "Create an invitation"} <= view_texts
    for msgid in view_texts:
        assert len(spanish(msgid)) <= VIEW_TEXT_MAX, (msgid, spanish(msgid))
    buttons = _template_literals(
        r'"type": "button", "action_id": "\w+", (?:"style": "\w+", )?'
        r'"text": \{"type": "plain_text", "text": _\("([^"]+)"'
    )
    options = _template_literals(
        r'"options": \[\{"text": \{"type": "plain_text", "text": _\("([^"]+)"'
    )
    assert "Share in channel" in buttons and "Also ask for delegated admin privileges" in options
    for msgid in buttons | options:
        # a placeholder's value is cut by the template (e.g. a reseller name to 45 characters)
        fixed = PLACEHOLDER.sub("", spanish(msgid))
        room = 75 - (45 if PLACEHOLDER.search(msgid) else 0)
        assert len(fixed) <= room, (msgid, spanish(msgid))


# ---------------------------------------------------------------------------- surfaces
def strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from strings(value)


@cache
def english_phrases() -> tuple[str, ...]:
    """Literal English parts of the messages whose Spanish differs (long enough not to occur by
    chance): none may show up in a Spanish rendering."""
    out = set()
    for msgid, msgstr in entries():
        if msgid == msgstr:
            continue
        for chunk in PLACEHOLDER.split(msgid)[::2]:
            chunk = chunk.strip(" .,:;`*_()")
            if len(chunk) >= 12 and " " in chunk and chunk not in msgstr:
                out.add(chunk)
    return tuple(sorted(out))


def check_pair(render: Callable[[str], Any]) -> dict[str, Any]:
    """Render in both languages (validation happens inside); Spanish must differ from English
    and contain no English message. Returns the Spanish rendering."""
    en, es = render("en"), render("es")
    assert json.dumps(en, ensure_ascii=False) != json.dumps(es, ensure_ascii=False)
    shown = "\n".join(strings(es))
    leaked = [p for p in english_phrases() if p in shown]
    assert leaked == [], f"English in the Spanish rendering: {leaked}"
    assert isinstance(es, dict)
    return es


def covering_decisions() -> list[Any]:
    """A few decisions that together show every outcome, step, note and missing fact."""
    subs = [Subscription(source=s, kind=k) for s in Source for k in Kind]
    candidates = [evaluate(Facts(role=role, subscriptions=subs)) for role in [*Role, None]]
    for role, cloud, flag in itertools.product([*Role, None], Cloud, (False, True)):
        for pair in (subs[:2], subs[6:8], subs[8:10]):
            candidates.append(
                evaluate(
                    Facts(role=role, cloud=cloud, customer_is_csp_partner=flag, subscriptions=pair)
                )
            )

    def features(d: Any) -> set[str]:
        return (
            {f"outcome:{d.outcome.value}"}
            | {f"step:{s.code}:{s.params.get('reason')}:{d.facts.role}" for s in d.steps}
            | {f"note:{n.code}" for n in d.notes}
            | {f"missing:{m}" for m in d.missing_facts}
        )

    chosen: list[Any] = []
    seen: set[str] = set()
    for d in candidates:
        if not features(d) <= seen:
            chosen.append(d)
            seen |= features(d)
    return chosen


DECISIONS = covering_decisions()


@pytest.mark.parametrize("customer", NASTY)
def test_decision_message_in_both_languages(customer: str) -> None:
    actions = itertools.cycle((None, "create", "ask_provider"))
    for decision, action in zip(DECISIONS, actions, strict=False):

        def render(lang: str, d: Any = decision, a: Any = action) -> dict[str, Any]:
            return surfaces.decision_message(
                d, customer=customer or None, invitation_action=a, lang=lang
            )

        es = check_pair(render)
        shown = json.dumps([b for b in es["blocks"] if b["type"] != "actions"])
        assert "<!channel>" not in shown and "<@U123>" not in shown
        # each step quotes the seed page itself
        shown_es = "\n".join(strings(es))
        for step in decision.steps:
            assert f"“{mrkdwn_escape(step.citation.text_es)[:60]}" in shown_es
    shared = check_pair(
        lambda lang: surfaces.decision_message(
            DECISIONS[0], customer=customer, shared_by="U0SHARE001", lang=lang
        )
    )
    assert shared["response_type"] == "in_channel" and "Compartido por <@U0SHARE001>" in str(shared)


def test_compare_message_in_both_languages() -> None:
    """ "What would the other edition say?" for cases of both editions, each with the new
    facts: every step that differs quotes its rule in the reader's language."""
    from policy import Commerce
    from policy.compare import compare, other_edition

    cases = [
        Facts(
            role=Role.direct, subscriptions=(Subscription(source="csp_partner", kind="license"),)
        ),
        Facts(
            role=Role.indirect_reseller,
            subscriptions=(
                Subscription(source="ea", kind="license"),
                Subscription(source="csp_partner", kind="usage", commerce=Commerce.new),
            ),
        ),
        Facts(
            role=Role.direct,
            ea_transfer_eligible=True,
            customer_is_csp_partner=True,
            customer_non_csp_tenant=True,
            subscriptions=(Subscription(source="ea", kind="usage"),),
        ),
        Facts(
            role=None, cloud=Cloud.china, subscriptions=(Subscription(source="ea", kind="usage"),)
        ),
    ]
    for facts in cases:
        for edition in ("2017-03", "2026-11"):
            comparison = compare(facts, edition, other_edition(edition))
            es = check_pair(lambda lang, c=comparison: surfaces.compare_message(c, lang=lang))
            shown_es = "\n".join(strings(es))
            for change in comparison.steps:
                assert f"“{mrkdwn_escape(change.citation.text_es)[:60]}" in shown_es
            assert f"Qué diría la edición {comparison.other.policy_edition}" in shown_es


def test_decision_ack_is_the_decision_message_acknowledgement() -> None:
    """The serialized acknowledgement of `assess ...` is the decision message's response_type,
    text and blocks, with the decision's own id, in both languages (cached or not)."""
    for decision, action in zip(DECISIONS, itertools.cycle((None, "create")), strict=False):
        for d in (decision, decision.model_copy(update={"decision_id": "short-id"})):
            for lang in ("en", "es"):
                message = surfaces.decision_message(d, invitation_action=action, lang=lang)
                ack = json.loads(surfaces.decision_ack(d, invitation_action=action, lang=lang))
                assert ack == {k: message[k] for k in ("response_type", "text", "blocks")}
                assert d.decision_id in json.dumps(ack["blocks"])


def test_every_step_and_outcome_is_covered() -> None:
    codes = {s.code for d in DECISIONS for s in d.steps}
    assert "escalate_not_covered" in codes and "refuse_csp_to_csp" in codes
    assert {d.outcome.value for d in DECISIONS} == {
        "supported",
        "not_supported",
        "needs_review",
        "partial",
    }


USAGE_ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("bad_subscription", {"sources": ["ea", "open"], "kinds": ["license", "usage"]}),
    ("bad_source", {"valid": ["ea", "open"], "suggestion": "ea"}),
    ("bad_source", {"valid": ["ea"], "suggestion": None}),
    ("bad_kind", {"valid": ["license"]}),
    ("bad_role", {"valid": ["direct"]}),
    ("bad_cloud", {"valid": ["global", "germany"]}),
    ("missing_role", {}),
    ("missing_cloud", {}),
    ("no_subscription", {}),
    ("bad_language", {"valid": ["en", "es", "auto"]}),
    ("customer_too_long", {"limit": 100}),
    ("too_many_subscriptions", {"limit": 20}),
    ("unknown_subcommand", {"suggestion": "assess"}),
    ("bad_commerce", {"valid": ["new", "legacy"]}),
    ("bad_edition", {"valid": ["2017-03", "2026-11", "current"]}),
    ("missing_edition", {"valid": ["2017-03", "2026-11", "current"]}),
    ("conflicting_editions", {"editions": ["2017-03", "2026-11"]}),
    ("non_csp_tenant_needs_csp_partner", {}),
]


@pytest.mark.parametrize("typed", NASTY)
def test_help_and_usage_errors_in_both_languages(typed: str) -> None:
    es = check_pair(
        lambda lang: surfaces.help_message(typed=typed or None, suggestion="assess", lang=lang)
    )
    shown = json.dumps(es, ensure_ascii=False)
    assert "`/multichannel assess SOURCE:KIND[:COMMERCE] … [as ROLE] [edition EDITION]`" in shown
    assert "`/multichannel edition [2017-03|2026-11|current|default]`" in shown
    for code, params in USAGE_ERRORS:
        error = UsageError(code, value=typed, **params)
        es = check_pair(lambda lang: surfaces.usage_error_message(error, lang=lang))  # noqa: B023
        assert "<!channel>" not in json.dumps(es)


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize("customer", NASTY)
def test_assess_modal_in_both_languages(role: Role | None, customer: str) -> None:
    origin = AssessOrigin(channel_id="C0123", response_url="https://hooks.slack.com/" + "x" * 900)
    es = check_pair(
        lambda lang: surfaces.assess_modal(
            origin=origin, role=role, customer=customer or None, lang=lang
        )
    )
    assert es["title"]["text"] == "Evaluar un cliente"


NOTICE_PARAMS: dict[str, Any] = {
    "team": "T1 <!channel>",
    "state": "enviada",
    "reseller": "<x> & Ñandú",
    "provider": "<y> " + "p" * 100,
    "admins": "<@U1>, <@U2>",
    "ref": "INV-1",
    "where": "<#C1>",
    "reason": "<boom> " + "r" * 100,
    "tenant": None,
    "by": "<y> " + "b" * 100,
    "holder": "<x> & Ñandú",
    "url": "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/r-1",
    "edition": "2017-03",
}
NOTICES: list[tuple[str, dict[str, Any]]] = [
    (code, NOTICE_PARAMS)
    for code in [
        "stale_button",
        "shared",
        "not_in_directory",
        "conflict",
        "invalid_transition",
        "not_allowed",
        "not_found",
        "not_your_reseller",
        "not_your_provider",
        "provider_without_channel",
        "reseller_without_partner_id",
        "no_reseller",
        "nowhere_to_post",
        "admins_only",
        "invitation_created",
        "request_sent",
        "partner_center_error",
        "language_auto",
        "gdap_requested",
        "gdap_asked_for_reseller",
        "gdap_by_provider",
        "gdap_recorded_already",
        "gdap_same_relationship",
        "gdap_stale",
        "gdap_error",
        "already_linked",
        "link_stale",
        "setup_not_allowed",
        "already_set_up",
        "join_admins_only",
        "join_stale",
        "join_already_linked",
        "org_admins_only",
        "org_needs_provider",
        "org_edit_refused",
        "workspace_not_linked",
        "workspace_remove_own",
        "join_reseller_admins_only",
        "join_already_pending",
        "leave_not_linked",
        "leave_last_provider",
        "leave_open_invitations",
    ]
] + [
    ("org_details_saved", {"org": "Contoso <x>"}),
    ("shared_reseller_added", {"org": "Northwind <x>", "channel": "C0NWSHARE1"}),
    ("shared_reseller_providers_only", {}),
    ("workspace_removed", {"team": "T0OTHER", "org": "Contoso <x>"}),
    ("workspace_linked", {"org": "Contoso <x>"}),
    ("workspace_joined", {"team": "T0NEW", "org": "Contoso <x>", "user": "U0NEWADM01"}),
    ("join_requested", {"provider": "Contoso <x>"}),
    ("provider_left", {"provider": "Contoso <x>"}),
    ("reseller_left", {"reseller": "Fabrikam <x>", "user": "U0LEAVER01"}),
    ("organization_set_up_pending", {"org": "<b> & Ñandú", "provider": "Contoso <x>"}),
    ("join_approved", {"provider": "Contoso <x>"}),
    ("org_settings_saved", {"org": "Contoso <x>"}),
    ("join_declined", {"provider": "Contoso <x>"}),
    ("organization_set_up", {"org": "<b> & Ñandú"}),
    ("language_set", {"lang_chosen": "en"}),
    ("language_set", {"lang_chosen": "es"}),
    ("workspace_language_set", {"lang_chosen": "en"}),
    ("workspace_language_set", {"lang_chosen": "es"}),
    ("workspace_language_set", {"lang_chosen": None}),
    ("language_status", {"current": "en", "user": "en", "slack": "es", "team": "es"}),
    ("language_status", {"current": "es", "user": None, "slack": "es", "team": "en"}),
    ("language_status", {"current": "es", "user": None, "slack": None, "team": "es"}),
    ("language_status", {"current": "en", "user": None, "slack": None, "team": None}),
    ("pc_connected", {"org": "<b> & Ñandú"}),
    ("pc_connection_expired", {"org": "<b> & Ñandú", "reason": "invalid_grant: AADSTS50173"}),
    ("pc_connect_no_keys", {}),
    ("pc_connect_no_public_url", {}),
    ("pc_connect_no_app", {}),
    ("webhook_registered", {"org": "<b>", "url": "https://bot.example.com/partner-center/w/x"}),
    ("webhook_no_connection", {"org": "<b>", "key": "contoso"}),
    ("webhook_no_public_url", {}),
    ("webhook_refused", {"reason": "<boom>"}),
]


@pytest.mark.parametrize(("code", "params"), NOTICES)
def test_notices_in_both_languages(code: str, params: dict[str, Any]) -> None:
    es = check_pair(lambda lang: surfaces.notice_message(code, lang=lang, **params))
    assert es["text"] and es["text"] != code


@pytest.mark.parametrize("reference", ["ERR-0000ABCD", "", "<!channel> " + "z" * 100])
def test_error_message_in_both_languages(reference: str) -> None:
    es = check_pair(lambda lang: surfaces.error_message(reference, lang=lang))
    assert f"`{reference}`" in es["text"]


def test_modal_errors_in_both_languages() -> None:
    codes = [
        "no_subscription",
        "unknown_value",
        "blank",
        "bad_domain",
        "bad_tenant",
        "no_provider",
        "too_long",
        "required",
        "too_long_name",
        "bad_partner_id",
        "partner_id_required",
        "tenant_taken",
        "join_code_required",
        "join_code_unknown",
        "join_code_used",
        "join_code_expired",
        "no_admin",
        "too_many_admins",
        "admin_not_in_workspace",
        "not_in_channel",
        "channel_not_shared",
        "channel_several_teams",
        "team_taken",
        "channel_not_found",
        "channel_archived",
        "channel_error",
        "missing_scope",
        "still_a_provider",
        "providers_only_for_resellers",
        "reseller_needs_provider",
        "role_has_invitations",
        "role_has_join_requests",
        "join_already_linked",
        "join_already_pending",
        "workspace_code_unknown",
        "something_new",
    ]
    errors = {f"block_{i}": code for i, code in enumerate(codes)}
    es = check_pair(lambda lang: surfaces.modal_errors(errors, lang=lang))
    assert set(es["errors"]) == set(errors)
    assert all(0 < len(text) <= 2000 for text in es["errors"].values())


# ---------------------------------------------------------------------------- invitation surfaces
PROVIDER = OrgView(
    1,
    "contoso-dist",
    "Contoso <Distribution> & Co",
    Role.indirect_provider,
    "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00",
    "1234567",
    "C0PROV",
)
RESELLER = OrgView(
    2,
    "fabrikam",
    "Fabrikam " + "Ñ" * 90,
    Role.indirect_reseller,
    "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d",
    "7654321",
    None,
)
MANY = [
    OrgView(i, f"r{i}", f"Revendedor {i} " + "x" * 80, Role.indirect_reseller, "t", "1", None)
    for i in range(120)
]
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship&x=1"


def inv_view(
    state: InvitationState, customer: str, *, reseller: bool, id: int = 7
) -> InvitationView:
    return InvitationView(
        id=id,
        ref="INV-7K3Q9",
        state=state,
        version=3,
        customer_name=customer,
        customer_domain="contoso.onmicrosoft.com",
        customer_tenant_id=None,
        delegated_admin=True,
        link=None if state is InvitationState.requested else LINK,
        link_source="api",
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=30),
        created_by_user="U0CREATOR1",
        requested_by_user="U0ASKER001",
        decision_id="d" * 36,
        provider=PROVIDER,
        reseller=RESELLER if reseller else None,
        locations=(MessageLocation("C0PROV", "1.2", MessagePurpose.provider),),
    )


INV_CUSTOMERS = ["W", NASTY[2], NASTY[3], NASTY[4]]


@pytest.mark.parametrize("customer", INV_CUSTOMERS)
def test_gdap_modal_in_both_languages(customer: str) -> None:
    """Delegated admin without Graph: the modal validates, escapes the customer, shows the
    tenant when known and carries the invitation and version clicked."""
    for tenant in (None, "4b2a6e33-8791-4386-bd2b-0d55baf25039"):
        view = dataclasses.replace(
            inv_view(InvitationState.accepted, customer, reseller=True),
            customer_tenant_id=tenant,
        )
        for kind in ("own", "for_reseller", "reseller_own"):
            context = GdapContext(i=view.id, v=view.version, channel_id="C0123", k=kind)

            def modal(lang: str, view: Any = view, context: GdapContext = context) -> Any:
                return surfaces.gdap_modal(
                    view=view, context=context, by="<y> Contoso", holder="<x> & Ñandú", lang=lang
                )

            es = check_pair(modal)
            shown = json.dumps(es, ensure_ascii=False)
            assert "<!channel>" not in shown and "<@U123>" not in shown
            assert ("<y>" not in shown and "&lt;y&gt; Contoso" in shown) or kind == "for_reseller"
            if tenant:
                assert tenant in shown
            assert load(GdapContext, es["private_metadata"]) == context
            assert es["blocks"][2]["block_id"] == "relationship"


@pytest.mark.parametrize("state", list(InvitationState))
def test_invitation_message_in_both_languages(state: InvitationState) -> None:
    for customer, side, with_reseller in itertools.product(
        INV_CUSTOMERS, ("provider", "reseller"), (True, False)
    ):
        view = inv_view(state, customer, reseller=with_reseller)
        es = check_pair(lambda lang: surfaces.invitation_message(view, side=side, lang=lang))  # noqa: B023
        shown = json.dumps([b for b in es["blocks"] if b["type"] != "actions"])
        assert "<!channel>" not in shown
        if state in (InvitationState.created, InvitationState.sent):
            assert "Correo para enviar al cliente" in shown
            assert "Vínculo de invitación" in json.dumps(es, ensure_ascii=False)


@pytest.mark.parametrize("customer", [None, *NASTY[1:]])
def test_invitation_modals_and_lists_in_both_languages(customer: str | None) -> None:
    context = InviteContext(customer=customer, decision_id="d" * 36, channel_id="C0123")
    check_pair(
        lambda lang: surfaces.invite_modal(
            context=context, resellers=MANY, customer=customer, lang=lang
        )
    )
    check_pair(
        lambda lang: surfaces.invite_modal(
            context=context, resellers=[], customer=customer, lang=lang
        )
    )
    # under 2026-11: no delegated admin in the invitation, GDAP as a separate step
    es = check_pair(
        lambda lang: surfaces.invite_modal(
            context=context, resellers=MANY, customer=customer, lang=lang, edition="2026-11"
        )
    )
    assert "desde el 2023-10-09 una invitación no lleva" in json.dumps(es, ensure_ascii=False)
    es = check_pair(
        lambda lang: surfaces.request_modal(
            context=context, providers=[PROVIDER], customer=customer, lang=lang, edition="2026-11"
        )
    )
    assert "Clientes → Nueva relación" in json.dumps(es, ensure_ascii=False)
    es = check_pair(
        lambda lang: surfaces.reseller_refusal(
            context=context, providers=[PROVIDER], lang=lang, edition="2026-11"
        )
    )
    assert "Con la edición 2026-11 envías tu propia invitación" in json.dumps(
        es, ensure_ascii=False
    )
    for providers in ([PROVIDER], MANY[:3]):
        es = check_pair(
            lambda lang: surfaces.request_modal(
                context=context,
                providers=providers,  # noqa: B023
                customer=customer,
                lang=lang,
            )
        )
        assert "Los revendedores indirectos que trabajan para un partner directo" in json.dumps(
            es, ensure_ascii=False
        )
    for providers in ([PROVIDER], [RESELLER], MANY[:2], []):
        check_pair(
            lambda lang: surfaces.reseller_refusal(
                context=context,
                providers=providers,  # noqa: B023
                lang=lang,
            )
        )
    views = [inv_view(s, customer or "W", reseller=True) for s in InvitationState] * 5
    for listed in (views, views[:3], []):
        message = check_pair(
            lambda lang: surfaces.status_message(
                org=PROVIDER,
                views=listed,  # noqa: B023
                customer=customer,
                lang=lang,
            )
        )
        assert len(message["blocks"]) <= 50


def test_admin_message_in_both_languages() -> None:
    check_pair(
        lambda lang: surfaces.admin_message(
            org=PROVIDER,
            teams=["T1", "T2"],
            admins=["U1"],
            providers=[],
            resellers=MANY,
            counts={s.value: 3 for s in InvitationState},
            lang=lang,
        )
    )
    check_pair(
        lambda lang: surfaces.admin_message(
            org=RESELLER,
            teams=[],
            admins=[],
            providers=[PROVIDER],
            resellers=[],
            counts={},
            lang=lang,
        )
    )


def home_data(org: OrgView | None, customer: str, n: int) -> HomeData:
    ids = itertools.count(1)
    views = {
        s: [inv_view(s, customer, reseller=True, id=next(ids)) for _ in range(n)]
        for s in InvitationState
    }
    decisions = [
        SimpleNamespace(outcome=o, customer_name=customer or None, at=NOW, decision_id="d" * 36)
        for o in ("supported", "not_supported", "needs_review", "partial")
    ]
    return HomeData(
        org=org,
        requests=views[InvitationState.requested] if org is PROVIDER else [],
        waiting=views[InvitationState.requested] if org is RESELLER else [],
        open=views[InvitationState.created] + views[InvitationState.delegated_admin_requested],
        accepted=views[InvitationState.accepted],
        decisions=decisions[: n + 1],
        more={"requests", "open", "accepted"} if n else set(),
    )


@pytest.mark.parametrize("org", [None, PROVIDER, RESELLER])
@pytest.mark.parametrize("customer", ["", *INV_CUSTOMERS[1:]])
def test_home_view_in_both_languages(org: OrgView | None, customer: str) -> None:
    for n in (0, 1, 5):
        data = home_data(org, customer, n)
        es = check_pair(lambda lang: surfaces.home_view(lang=lang, home=data))  # noqa: B023
        assert len(es["blocks"]) <= 100


@pytest.mark.parametrize(
    "setup",
    [
        None,
        SetupAccess(True, "U0INSTALL1"),
        SetupAccess(False, "U0INSTALL1"),
        SetupAccess(False, None),
    ],
)
def test_home_view_of_a_workspace_to_set_up_in_both_languages(setup: SetupAccess | None) -> None:
    """Not in the directory: the set-up button to who may, else who can do it."""
    es = check_pair(lambda lang: surfaces.home_view(lang=lang, home=HomeData(setup=setup)))
    shown = json.dumps(es, ensure_ascii=False)
    assert ("open_setup_modal" in shown) is bool(setup and setup.allowed)
    assert ("<@U0INSTALL1>" in shown) is bool(setup and not setup.allowed and setup.installer)


def test_home_view_admin_section_and_waiting_reseller_in_both_languages() -> None:
    provider = check_pair(
        lambda lang: surfaces.home_view(lang=lang, home=HomeData(org=PROVIDER, admin=True))
    )
    assert "create_join_code" in json.dumps(provider)
    assert "open_org_settings" in json.dumps(provider)
    plain = surfaces.home_view(lang="es", home=HomeData(org=PROVIDER, admin=False))
    assert "create_join_code" not in json.dumps(plain)
    assert "open_org_settings" not in json.dumps(plain)
    waiting = check_pair(
        lambda lang: surfaces.home_view(
            lang=lang, home=HomeData(org=RESELLER, admin=True, waiting_for=["Contoso <x>"])
        )
    )
    shown = json.dumps(waiting, ensure_ascii=False)
    assert "Contoso &lt;x&gt;" in shown and "create_join_code" not in shown
    assert "open_org_settings" in shown


@pytest.mark.parametrize("channel", [None, "C0PROV"])
@pytest.mark.parametrize("admins", [(), ("U0ADMIN001", "U0ADMIN002")])
def test_org_settings_modal_in_both_languages(channel: str | None, admins: tuple[str, ...]) -> None:
    settings = OrgSettings("Contoso <x> & Co", channel, admins)
    es = check_pair(lambda lang: surfaces.org_settings_modal(settings=settings, lang=lang))
    shown = json.dumps(es, ensure_ascii=False)
    assert "&lt;x&gt;" in shown
    assert ("initial_conversation" in shown) is bool(channel)
    assert ("initial_users" in shown) is bool(admins)


@pytest.mark.parametrize("purpose", ["provider", "workspace"])
def test_join_code_modal_in_both_languages(purpose: str) -> None:
    es = check_pair(
        lambda lang: surfaces.join_code_modal(
            code="ABCD-EFGH-JKMN-PQRS",
            provider="Contoso <x> & Co",
            expires_at=NOW,
            purpose=purpose,
            lang=lang,
        )
    )
    shown = json.dumps(es, ensure_ascii=False)
    assert "ABCD-EFGH-JKMN-PQRS" in shown and "&lt;x&gt;" in shown and "submit" not in es


@pytest.mark.parametrize(
    ("purpose", "callback"),
    [("provider", "join_provider_modal"), ("workspace", "link_workspace_modal")],
)
def test_code_modal_in_both_languages(purpose: str, callback: str) -> None:
    es = check_pair(lambda lang: surfaces.code_modal(purpose=purpose, lang=lang))
    assert es["callback_id"] == callback
    assert [b["block_id"] for b in es["blocks"] if b["type"] == "input"] == ["code"]


def test_shared_reseller_modal_in_both_languages() -> None:
    es = check_pair(lambda lang: surfaces.shared_reseller_modal(lang=lang))
    assert es["callback_id"] == "shared_reseller_modal"
    inputs = [b["block_id"] for b in es["blocks"] if b["type"] == "input"]
    # the same block ids as the set-up form: one reader and one set of rules for them
    assert inputs == ["org_name", "org_tenant", "org_partner_id", "org_channel"]


@pytest.mark.parametrize("partner_id", [None, "1234567"])
@pytest.mark.parametrize("role", list(Role))
def test_org_details_modal_in_both_languages(partner_id: str | None, role: Role) -> None:
    details = OrgDetails(
        "Contoso <x> & Co", role, "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00", partner_id
    )
    es = check_pair(lambda lang: surfaces.org_details_modal(details=details, lang=lang))
    inputs = {b["block_id"]: b["element"] for b in es["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["org_name", "org_role", "org_tenant", "org_partner_id"]
    assert inputs["org_role"]["initial_option"]["value"] == role.value
    assert inputs["org_name"]["initial_value"] == "Contoso <x> & Co"  # plain text: as typed
    assert ("initial_value" in inputs["org_partner_id"]) is bool(partner_id)


@pytest.mark.parametrize(
    ("org", "view"),
    [
        (PROVIDER, AdminView(("T0PROV", "T0PROV2"), resellers=("Fabrikam <x>",))),
        (RESELLER, AdminView(("T0RES",), providers=(("contoso", "Contoso <x>"),))),
        (RESELLER, AdminView(("T0RES", "T0RES2"), providers=(("a", "A <x>"), ("b", "B")))),
        (RESELLER, AdminView(("T0RES",))),
    ],
)
def test_home_view_directory_admin_in_both_languages(org: OrgView, view: AdminView) -> None:
    data = HomeData(org=org, admin=True, directory=view, team=view.workspaces[0])
    es = check_pair(lambda lang: surfaces.home_view(lang=lang, home=data))
    shown = json.dumps(es, ensure_ascii=False)
    assert "open_org_details" in shown and "create_workspace_code" in shown
    assert ("&lt;x&gt;" in shown) is bool(view.providers or view.resellers)  # escaped
    assert "None has approved you yet" in json.dumps(
        surfaces.home_view(lang="en", home=data)
    ) or bool(view.providers or org is PROVIDER)
    assert ("org_remove_workspace" in shown) is (len(view.workspaces) > 1)
    assert ("open_join_provider" in shown) is (org is RESELLER)
    assert ("leave_provider" in shown) is (len(view.providers) > 1)


@pytest.mark.parametrize("status", ["pending", "approved", "declined"])
@pytest.mark.parametrize("partner_id", [None, "1234567"])
def test_join_request_message_in_both_languages(status: str, partner_id: str | None) -> None:
    request = RequestView(7, 3, status, "U0ASKER001", None if status == "pending" else "U0DECIDER1")
    reseller = dataclasses.replace(RESELLER, partner_id=partner_id)
    es = check_pair(
        lambda lang: surfaces.join_request_message(
            request=request, reseller=reseller, provider=PROVIDER, lang=lang
        )
    )
    shown = json.dumps(es, ensure_ascii=False)
    assert ("join_approve" in shown) is (status == "pending")
    assert "<Distribution>" not in shown
    if status == "pending":
        assert json.loads(es["blocks"][-1]["elements"][0]["value"]) == {"r": 7, "v": 3}


def test_setup_modal_in_both_languages() -> None:
    es = check_pair(lambda lang: surfaces.setup_modal(lang=lang))
    blocks = [b["block_id"] for b in es["blocks"] if b["type"] == "input"]
    assert blocks == [
        "org_name",
        "org_role",
        "org_tenant",
        "org_partner_id",
        "org_join_code",
        "org_channel",
    ]
    roles = es["blocks"][2]["element"]["options"]
    assert [o["value"] for o in roles] == ["direct", "indirect_provider", "indirect_reseller"]


def _localized(
    fn: Callable[..., dict[str, Any]], template: str, **context: Any
) -> Callable[[str], Any]:
    """Render `fn` in a language. Until `fn` takes `lang`, render its template in that language
    directly (test_every_surface_takes_lang flags it): the catalog and the limits still hold."""
    if "lang" in inspect.signature(fn).parameters:
        return lambda lang: fn(lang=lang, **context)
    return lambda lang: validate_message(render_json(template, lang=lang, **context))


@pytest.mark.parametrize(
    "change", ["accepted", "delegated_admin_requested", "delegated_admin_granted", "access_ended"]
)
def test_notification_message_in_both_languages(change: str) -> None:
    for customer, audience, with_reseller, linked_by in itertools.product(
        INV_CUSTOMERS[1:], ("provider", "dm", "reseller"), (True, False), (None, "U0LINKER1")
    ):
        view = inv_view(InvitationState.accepted, customer, reseller=with_reseller)
        context: dict[str, Any] = {
            "change": change,
            "audience": audience,
            "event_name": "customer-relationship-accepted " + "e" * 150,
            "linked_by": linked_by,
            "approval_url": "https://admin.microsoft.com/AdminPortal/Home#/partners/x?a=1&b=<2>",
        }
        fn: Any = surfaces.notification_message
        if "lang" not in inspect.signature(fn).parameters:
            button = '{"i":7,"v":3}' if change == "accepted" and audience != "reseller" else None
            context |= {"view": view, "button": button}
            render = _localized(fn, "slack/notification.json.j2", **context)
        else:
            render = lambda lang: fn(view, lang=lang, **context)  # noqa: B023, E731
        es = check_pair(render)
        assert "<!channel>" not in json.dumps(es)


@pytest.mark.parametrize("linked", [None, {"ref": "INV-1", "user": "U1"}])
@pytest.mark.parametrize("n_options", [0, 3, 120])
def test_unmatched_message_in_both_languages(linked: dict[str, str] | None, n_options: int) -> None:
    for company in (None, *NASTY[2:]):
        context: dict[str, Any] = {
            "event": {
                "id": 1,
                "name": "customer-relationship-accepted",
                "customer_id": None if company is None else "3f1c0000-0000-0000-0000-000000000000",
                "company": company,
                "domain": company and "contoso.onmicrosoft.com",
                "changed_at": NOW if company else None,
            },
            "options": [
                {"text": f"INV-{i} · Cliente {i} " + "y" * 80, "value": f'{{"e":1,"i":{i}}}'}
                for i in range(n_options)
            ],
            "more": max(0, n_options - 100),
            "linked": linked,
        }
        check_pair(_localized(surfaces.unmatched_message, "slack/unmatched.json.j2", **context))


@pytest.mark.parametrize("customer", NASTY)
def test_replay_message_in_both_languages(customer: str) -> None:
    """`/multichannel decision ID`: from Slack and from the command line, today's edition the
    same or another, an answer corrected since, and a decision that cannot be replayed."""
    from bot.core.replay import Replay
    from policy.compare import compare

    facts = Facts(role=Role.direct, subscriptions=[Subscription(source="ea", kind="license")])
    old = compare(facts, "2017-03", "2026-11", decision_id="01938b2e-7c4a-7d3e-9f00-5a1b2c3d4e5f")
    base = Replay(
        decision_id=old.decision.decision_id,
        at=datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
        user_id="U0ASKER001",
        team_id="T0PROVIDER",
        org_name="Contoso <!channel>",
        customer_name=customer or None,
        edition="2017-03",
        logged_outcome=old.decision.outcome.value,
        logged_steps=tuple(old.decision.step_codes()),
        decision=old.decision,
        problem=None,
        as_logged=True,
        today_edition="2026-11",
        today=old,
    )
    variants = [
        base,
        dataclasses.replace(base, user_id="cli:maria", team_id="", org_name=None),
        dataclasses.replace(base, today=None, today_edition="2017-03"),
        dataclasses.replace(base, as_logged=False, logged_outcome="needs_review"),
        dataclasses.replace(base, decision=None, problem="edition_unknown", today=None),
        dataclasses.replace(base, decision=None, problem="facts_unreadable", today=None),
    ]
    for replay in variants:
        es = check_pair(lambda lang, r=replay: surfaces.replay_message(r, lang=lang))
        shown = json.dumps(es["blocks"], ensure_ascii=False)
        assert "<!channel>" not in shown
        assert es["response_type"] == "ephemeral"
        ids = [b["block_id"] for b in es["blocks"]]
        assert ids[0] == "replay_about"
        assert ("replay_problem" in ids) is (replay.decision is None)
        assert ("replay_changed" in ids) is (replay.decision is not None and not replay.as_logged)
    today = surfaces.replay_message(base, lang="en")
    text = json.dumps(today, ensure_ascii=False)
    assert "Today's default edition, 2026-11, answers differently" in text
    assert "gdap-separate" in text


def test_pc_connect_message_in_both_languages() -> None:
    url = "https://login.microsoftonline.com/t/oauth2/v2.0/authorize?state=s"
    es = check_pair(lambda lang: surfaces.pc_connect_message(url=url, org="<b> & Co", lang=lang))
    shown = json.dumps(es, ensure_ascii=False)
    assert url in shown and "&lt;b&gt; &amp; Co" in shown


@pytest.mark.parametrize("pc", ["connected", "expired", "environment", "not connected"])
def test_home_view_partner_center_states_in_both_languages(pc: str) -> None:
    home = HomeData(org=PROVIDER, admin=True, pc=pc, pc_reason="invalid_grant: AADSTS50173")
    shown = json.dumps(check_pair(lambda lang: surfaces.home_view(lang=lang, home=home)))
    assert "pc_connect" in shown
    assert ("pc_register_webhook" in shown) is (pc in ("connected", "environment"))
    assert ("AADSTS50173" in shown) is (pc == "expired")


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("connected", {"org": "<b>"}),
        ("state_unknown", {}),
        ("state_used", {}),
        ("state_expired", {}),
        ("entra_error", {"error": "access_denied", "description": "<x>"}),
        ("token_refused", {"error": "invalid_grant", "description": "AADSTS54005"}),
        ("wrong_tenant", {"used": "a", "expected": "b", "org": "<b>"}),
        ("no_tenant", {}),
        ("not_configured", {}),
        ("code_missing", {}),
        ("org_gone", {}),
    ],
)
def test_pc_connect_result_page_in_both_languages(code: str, params: dict[str, str]) -> None:
    pages = {
        lang: environment(lang)
        .get_template("web/pc_connect_result.html.j2")
        .render(lang=lang, code=code, p=params)
        for lang in ("en", "es")
    }
    assert pages["en"] != pages["es"]
    assert "<b>" not in pages["es"] and "<x>" not in pages["es"]  # escaped


#: Every surface function of bot/core/ui/surfaces.py and the test above that renders it in both
#: languages.
SURFACE_TESTS = {
    "help_message": test_help_and_usage_errors_in_both_languages,
    "usage_error_message": test_help_and_usage_errors_in_both_languages,
    "error_message": test_error_message_in_both_languages,
    "notice_message": test_notices_in_both_languages,
    "decision_message": test_decision_message_in_both_languages,
    "decision_ack": test_decision_ack_is_the_decision_message_acknowledgement,
    "compare_message": test_compare_message_in_both_languages,
    "gdap_modal": test_gdap_modal_in_both_languages,
    "assess_modal": test_assess_modal_in_both_languages,
    "modal_errors": test_modal_errors_in_both_languages,
    "home_view": test_home_view_in_both_languages,
    "setup_modal": test_setup_modal_in_both_languages,
    "join_code_modal": test_join_code_modal_in_both_languages,
    "org_settings_modal": test_org_settings_modal_in_both_languages,
    "org_details_modal": test_org_details_modal_in_both_languages,
    "shared_reseller_modal": test_shared_reseller_modal_in_both_languages,
    "code_modal": test_code_modal_in_both_languages,
    "join_request_message": test_join_request_message_in_both_languages,
    "invitation_message": test_invitation_message_in_both_languages,
    "invite_modal": test_invitation_modals_and_lists_in_both_languages,
    "request_modal": test_invitation_modals_and_lists_in_both_languages,
    "reseller_refusal": test_invitation_modals_and_lists_in_both_languages,
    "status_message": test_invitation_modals_and_lists_in_both_languages,
    "admin_message": test_admin_message_in_both_languages,
    "notification_message": test_notification_message_in_both_languages,
    "unmatched_message": test_unmatched_message_in_both_languages,
    "replay_message": test_replay_message_in_both_languages,
    "pc_connect_message": test_pc_connect_message_in_both_languages,
}


def _surface_functions() -> dict[str, Callable[..., Any]]:
    return {
        name: fn
        for name, fn in inspect.getmembers(surfaces, inspect.isfunction)
        if fn.__module__ == surfaces.__name__
        and not name.startswith("_")
        and name not in {"invitation_action_for", "ack_fields"}  # helpers, not surfaces
    }


def test_every_surface_is_tested_in_both_languages() -> None:
    assert set(_surface_functions()) == set(SURFACE_TESTS), "add the new surface to SURFACE_TESTS"


def test_every_surface_takes_lang() -> None:
    without = sorted(
        name
        for name, fn in _surface_functions().items()
        if "lang" not in inspect.signature(fn).parameters
    )
    if without:
        pytest.xfail(f"not localized yet (always English): {', '.join(without)}")


# ---------------------------------------------------------------------------- the CLI
def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli_main(list(argv)) == 0
    return capsys.readouterr().out


@cache
def seed_text() -> str:
    """The seed page as text: its markup (tags, [text](page.md) links) is not part of a
    quotation (F13), so it is rendered before comparing."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", SEED.read_text(encoding="utf-8"))
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text)


def assert_from_seed(quote: str) -> None:
    """A Spanish citation is the seed page's own sentence (the "Applies to" list is the page's
    two bullet items joined)."""
    if not SEED.exists():
        pytest.skip(f"no seed page at {SEED}")
    parts = (
        quote.removeprefix("Se aplica a ").split("; ")
        if quote.startswith("Se aplica a")
        else [quote]
    )
    for part in parts:
        assert re.sub(r"\s+", " ", part) in seed_text(), part


@pytest.mark.parametrize(
    ("argv", "headline"),
    [
        (["--role", "indirect_reseller", "--subscription", "ea:license"], "SE ADMITE:"),
        (["--role", "direct", "--subscription", "csp_partner:license"], None),
        (
            [
                "--role",
                "indirect_provider",
                "--subscription",
                "ea:usage",
                "--subscription",
                "csp_partner:usage",
            ],
            None,
        ),
        (
            ["--role", "direct", "--subscription", "open:license", "--customer-is-csp-partner"],
            "NO SE ADMITE:",
        ),
        (
            ["--role", "direct", "--subscription", "ea:license", "--cloud", "china"],
            "REQUIERE REVISIÓN:",
        ),
    ],
)
@pytest.mark.parametrize("edition", ["2017-03", "2026-11"])
def test_cli_assess_in_spanish(
    capsys: pytest.CaptureFixture[str], argv: list[str], headline: str | None, edition: str
) -> None:
    argv = [*argv, "--edition", edition]
    if edition != "2017-03" and "china" not in argv:
        headline = None  # today's answers differ (C.4); the headline is 2017-03's
    out_es = cli(capsys, "assess", *argv, "--lang", "es")
    out_en = cli(capsys, "assess", *argv)
    assert out_es != out_en
    if headline:
        assert out_es.startswith(headline)
    for english in ("Subscriptions:", "Steps:", "\n     Rule ", "Decision ", "policy edition"):
        assert english not in out_es
    assert (
        "Suscripciones:" in out_es and "Decisión " in out_es and "edición de las reglas" in out_es
    )
    leaked = [p for p in english_phrases() if p in out_es]
    assert leaked == []
    decision = json.loads(cli(capsys, "assess", *argv, "--json"))
    assert decision["steps"]
    for step in decision["steps"]:
        citation = step["citation"]
        assert f'"{citation["text_es"]}"' in out_es
        assert citation["text_en"] not in out_es
        assert f"Regla {step['rule']} · " in out_es
        if citation["text_es_origin"] == "translation":  # said, never passed off as a quote
            assert f'"{citation["text_es"]}" (traducción)' in out_es
        elif edition == "2017-03" and citation["document"] == "partner-center/multichannel.md":
            assert_from_seed(citation["text_es"])


def test_cli_assess_reseller_quotes_the_reseller_rule(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(
        capsys,
        "assess",
        "--role",
        "indirect_reseller",
        "--subscription",
        "ea:license",
        "--lang",
        "es",
        "--edition",
        "2017-03",
    )
    assert "Pide la invitación a tu proveedor indirecto" in out
    assert (
        '"Los revendedores indirectos que trabajan para un partner directo de CSP no pueden crear '
        'sus propias invitaciones de CSP. Deben usar la que les proporciona el partner directo."'
    ) in out


def test_cli_rules_in_spanish(capsys: pytest.CaptureFixture[str]) -> None:
    out_es = cli(capsys, "rules", "--lang", "es", "--edition", "2017-03")
    out_en = cli(capsys, "rules", "--edition", "2017-03")
    assert out_es.startswith("Edición de las reglas 2017-03:")
    assert "Fuente:" in out_es and "Se aplica a las nubes:" in out_es
    assert "Policy edition" not in out_es and "Applies to clouds" not in out_es
    assert "  pasos:" in out_es and "  steps:" not in out_es
    for rule in get_edition("2017-03").rules:
        assert f'"{rule.text_es}"' in out_es
        assert f'"{rule.text_es}"' not in out_en
        assert f'"{rule.text_en}"' not in out_es
        if rule.source is None:  # the others quote the pages the seed links
            assert_from_seed(rule.text_es)


# ---------------------------------------------------------------------------- normalize
@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("es", "es"),
        ("es-ES", "es"),
        ("es_MX", "es"),
        ("ES", "es"),
        ("es-419", "es"),
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("fr-FR", None),
        ("pt", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize(tag: str | None, expected: str | None) -> None:
    assert i18n.normalize(tag) == expected
