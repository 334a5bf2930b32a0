"""bot.core.ui.commands: the `/multichannel` parser, its memo, and the facts an `assess` gives."""

from __future__ import annotations

import pytest

from bot.core.ui.commands import (
    AssessCommand,
    HelpCommand,
    InviteCommand,
    StatusCommand,
    UsageError,
    parse,
)
from policy import Cloud, Kind, Role, Source, Subscription


def test_assess_arguments() -> None:
    parsed = parse("assess EA:License open:usage as reseller in us-gov csp-partner-customer")
    assert parsed == AssessCommand(
        subscriptions=(
            Subscription(source=Source.ea, kind=Kind.license),
            Subscription(source=Source.open, kind=Kind.usage),
        ),
        role=Role.indirect_reseller,
        cloud=Cloud.us_gov,
        customer_is_csp_partner=True,
    )


def test_the_same_text_gives_the_same_frozen_command() -> None:
    first = parse("assess ea:license")
    assert parse("assess ea:license") is first
    with pytest.raises(ValueError):  # frozen: sharing it between requests is safe
        first.role = Role.direct  # type: ignore[misc]
    assert parse("  help ") == HelpCommand()
    assert parse("invite Contoso <Ltd>") == InviteCommand(customer="Contoso <Ltd>")


def test_a_bad_text_raises_every_time() -> None:
    for _ in range(2):  # errors are not remembered as answers
        with pytest.raises(UsageError) as caught:
            parse("assess ea:licence")
        assert caught.value.code == "bad_kind"
    with pytest.raises(UsageError) as caught:
        parse("asess ea:license")
    assert (caught.value.code, caught.value.params["suggestion"]) == (
        "unknown_subcommand",
        "assess",
    )


def test_facts_take_the_directory_role_unless_the_command_names_one() -> None:
    plain = parse("assess ea:license")
    assert isinstance(plain, AssessCommand)
    facts = plain.facts(Role.direct)
    assert facts.role == Role.direct
    assert facts.subscriptions == (Subscription(source=Source.ea, kind=Kind.license),)
    assert plain.facts(Role.direct) is facts  # the engine's cache then finds it by identity
    assert plain.facts(None).role is None

    named = parse("assess ea:license as provider")
    assert isinstance(named, AssessCommand)
    assert named.facts(Role.direct).role == Role.indirect_provider


@pytest.mark.parametrize("text", ["status a\x00b", "invite Contoso\x07", "assess ea:license\x1b"])
def test_control_characters_are_a_usage_error(text: str) -> None:
    """A NUL would reach the database (PostgreSQL refuses it in text): refused at the parse."""
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.code == "control_character"


def test_tabs_and_newlines_are_text() -> None:
    assert parse("status Contoso\tLtd") == StatusCommand(customer="Contoso Ltd")


def test_conflicting_roles_are_refused_not_resolved() -> None:
    """`as reseller as direct` used to keep the last role silently (issue 14)."""
    with pytest.raises(UsageError) as caught:
        parse("assess ea:license as reseller as direct")
    assert caught.value.code == "conflicting_roles"
    assert caught.value.params["roles"] == ["indirect_reseller", "direct"]
    same = parse("assess ea:license as reseller as indirect_reseller")
    assert isinstance(same, AssessCommand) and same.role is Role.indirect_reseller


def test_the_cli_takes_every_role_alias_slack_takes() -> None:
    from bot.cli.main import _role
    from bot.core.ui.commands import ROLE_ALIASES

    for alias, role in ROLE_ALIASES.items():
        assert _role(alias) is role


def test_assess_takes_the_clis_facts_and_an_edition() -> None:
    """The same token syntax as `mcbot assess`: SOURCE:KIND[:COMMERCE], the CLI's flags (or
    their short Slack names), and `edition` for one answer (an alias gives its dated name)."""
    from policy import Commerce, Facts

    parsed = parse(
        "assess csp_partner:license:NEW ea:usage:legacy ea:license as direct "
        "csp-partner-customer non-csp-tenant --ea-transfer-eligible edition current"
    )
    assert isinstance(parsed, AssessCommand)
    assert parsed.edition == "2026-11"
    assert parsed.facts(None) == Facts(
        role=Role.direct,
        customer_is_csp_partner=True,
        customer_non_csp_tenant=True,
        ea_transfer_eligible=True,
        subscriptions=(
            Subscription(source=Source.csp_partner, kind=Kind.license, commerce=Commerce.new),
            Subscription(source=Source.ea, kind=Kind.usage, commerce=Commerce.legacy),
            Subscription(source=Source.ea, kind=Kind.license),
        ),
    )
    assert parse("assess ea:license --edition 2017-03").edition == "2017-03"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("assess ea:license:nce", "bad_commerce", {"value": "nce", "valid": ["new", "legacy"]}),
        ("assess ea:license:", "bad_subscription", {"value": "ea:license:"}),
        ("assess ea:license edition 2099-01", "bad_edition", {"value": "2099-01"}),
        ("assess ea:license edition", "missing_edition", {}),
        ("assess ea:license edition 2017-03 edition current", "conflicting_editions", {}),
        ("assess ea:license non-csp-tenant", "non_csp_tenant_needs_csp_partner", {}),
        ("assess edition 2017-03", "no_subscription", {}),
        ("edition 2017-03 2026-11", "bad_edition", {}),
        ("edition workspace", "bad_edition", {}),
    ],
)
def test_bad_facts_and_editions_are_usage_errors(
    text: str, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(UsageError) as raised:
        parse(text)
    assert raised.value.code == code
    assert params.items() <= raised.value.params.items()


def test_the_edition_command() -> None:
    from bot.core.ui.commands import EditionCommand

    assert parse("edition") == EditionCommand()
    assert parse("edition 2017-03") == EditionCommand(choice="2017-03")
    assert parse("edition workspace Current") == EditionCommand(choice="current")
    assert parse("edition default") == EditionCommand(choice="default")
