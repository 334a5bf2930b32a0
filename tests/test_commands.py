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
