"""bot.core.ui.blockkit: every Block Kit limit Slack enforces fails here first, naming the path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.core.ui import blockkit
from bot.core.ui.blockkit import (
    ACCESSORY_ELEMENT_TYPES,
    ACTIONS_ELEMENT_TYPES,
    CONTEXT_ELEMENT_TYPES,
    INPUT_ELEMENT_TYPES,
    KNOWN_ELEMENT_TYPES,
    BlockKitError,
    validate_blocks,
    validate_message,
    validate_view,
)

Json = dict[str, Any]

# ---- builders ----------------------------------------------------------------------------


def plain(text: str) -> Json:
    return {"type": "plain_text", "text": text}


def md(text: str) -> Json:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hello", **extra: Any) -> Json:
    return {"type": "section", "text": md(text), **extra}


def button(text: str = "Go", action_id: str = "go", **extra: Any) -> Json:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def option(text: str = "One", value: str = "1", **extra: Any) -> Json:
    return {"text": plain(text), "value": value, **extra}


def options(n: int) -> list[Json]:
    return [option(f"Option {i}", str(i)) for i in range(n)]


def static_select(opts: list[Json], action_id: str = "pick") -> Json:
    return {"type": "static_select", "action_id": action_id, "options": opts}


def actions(*elements: Json, **extra: Any) -> Json:
    return {"type": "actions", "elements": list(elements), **extra}


def input_block(element: Json, label: str = "Customer", block_id: str = "in") -> Json:
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element}


def text_input(action_id: str = "value", **extra: Any) -> Json:
    return {"type": "plain_text_input", "action_id": action_id, **extra}


def message(*blocks: Json) -> Json:
    return {"text": "Fallback for notifications", "blocks": list(blocks)}


def modal(*blocks: Json, **extra: Any) -> Json:
    view = {
        "type": "modal",
        "callback_id": "assess",
        "title": plain("Assess"),
        "submit": plain("Check"),
        "close": plain("Cancel"),
        "blocks": list(blocks),
    }
    view.update(extra)
    return view


def home(*blocks: Json) -> Json:
    return {"type": "home", "blocks": list(blocks)}


DIVIDER: Json = {"type": "divider"}


def validate(surface: Json) -> Json:
    if "type" in surface:
        return validate_view(surface)
    return validate_message(surface)


def pad(prefix: str, n: int) -> str:
    return prefix + "x" * (n - len(prefix))


# ---- each limit: at the limit passes, one over fails, naming the path ---------------------

LimitCase = tuple[str, Callable[[int], Json], int, str]

LIMITS: list[LimitCase] = [
    ("message blocks", lambda n: message(*[DIVIDER] * n), 50, "blocks"),
    ("modal blocks", lambda n: modal(*[DIVIDER] * n), 100, "blocks"),
    ("home blocks", lambda n: home(*[DIVIDER] * n), 100, "blocks"),
    ("section text", lambda n: message(section("x" * n)), 3000, "blocks[0].text.text"),
    (
        "section field count",
        lambda n: message({"type": "section", "fields": [md("f")] * n}),
        10,
        "blocks[0].fields",
    ),
    (
        "section field text",
        lambda n: message({"type": "section", "fields": [md("a"), md("b"), md("x" * n)]}),
        2000,
        "blocks[0].fields[2].text",
    ),
    (
        "header text",
        lambda n: message({"type": "header", "text": plain("x" * n)}),
        150,
        "blocks[0].text.text",
    ),
    (
        "button text",
        lambda n: message(actions(button(), button("x" * n, "b2"))),
        75,
        "blocks[0].elements[1].text.text",
    ),
    (
        "button value",
        lambda n: message(actions(button(value="x" * n))),
        2000,
        "blocks[0].elements[0].value",
    ),
    (
        "button url",
        lambda n: message(actions(button(url=pad("https://example.com/", n)))),
        3000,
        "blocks[0].elements[0].url",
    ),
    (
        "accessory action_id",
        lambda n: message(section(accessory=button(action_id="a" * n))),
        255,
        "blocks[0].accessory.action_id",
    ),
    ("block_id", lambda n: message(section(block_id="b" * n)), 255, "blocks[0].block_id"),
    (
        "callback_id",
        lambda n: modal(section(), callback_id="c" * n),
        255,
        "callback_id",
    ),
    (
        "option text",
        lambda n: message(actions(static_select([*options(3), option("x" * n, "v")]))),
        75,
        "blocks[0].elements[0].options[3].text.text",
    ),
    (
        "option description",
        lambda n: message(actions(static_select([option(description=plain("d" * n))]))),
        75,
        "blocks[0].elements[0].options[0].description.text",
    ),
    (
        "option value",
        lambda n: message(actions(static_select([option(value="v" * n)]))),
        75,
        "blocks[0].elements[0].options[0].value",
    ),
    (
        "select options",
        lambda n: message(actions(static_select(options(n)))),
        100,
        "blocks[0].elements[0].options",
    ),
    (
        "option group options",
        lambda n: message(
            section(
                accessory={
                    "type": "static_select",
                    "action_id": "pick",
                    "option_groups": [
                        {"label": plain("A"), "options": options(2)},
                        {"label": plain("B"), "options": options(n)},
                    ],
                }
            )
        ),
        100,
        "blocks[0].accessory.option_groups[1].options",
    ),
    (
        "option group label",
        lambda n: message(
            section(
                accessory={
                    "type": "multi_static_select",
                    "action_id": "pick",
                    "option_groups": [{"label": plain("L" * n), "options": options(2)}],
                }
            )
        ),
        75,
        "blocks[0].accessory.option_groups[0].label.text",
    ),
    ("modal title", lambda n: modal(section(), title=plain("t" * n)), 24, "title.text"),
    ("modal submit", lambda n: modal(section(), submit=plain("s" * n)), 24, "submit.text"),
    ("modal close", lambda n: modal(section(), close=plain("c" * n)), 24, "close.text"),
    (
        "private_metadata",
        lambda n: modal(section(), private_metadata="m" * n),
        3000,
        "private_metadata",
    ),
    (
        "context elements",
        lambda n: message({"type": "context", "elements": [md("c")] * n}),
        10,
        "blocks[0].elements",
    ),
    (
        "actions elements",
        lambda n: message(actions(*[button(action_id=f"b{i}") for i in range(n)])),
        25,
        "blocks[0].elements",
    ),
    (
        "checkboxes options",
        lambda n: modal(
            input_block({"type": "checkboxes", "action_id": "c", "options": options(n)})
        ),
        10,
        "blocks[0].element.options",
    ),
    (
        "radio buttons options",
        lambda n: modal(
            input_block({"type": "radio_buttons", "action_id": "r", "options": options(n)})
        ),
        10,
        "blocks[0].element.options",
    ),
    (
        "overflow options",
        lambda n: message(section(accessory={"type": "overflow", "options": options(n)})),
        5,
        "blocks[0].accessory.options",
    ),
    (
        "overflow option text",
        lambda n: message(
            section(accessory={"type": "overflow", "options": [option("o" * n), option()]})
        ),
        75,
        "blocks[0].accessory.options[0].text.text",
    ),
    (
        "input label",
        lambda n: modal(input_block(text_input(), label="l" * n)),
        2000,
        "blocks[0].label.text",
    ),
    (
        "input placeholder",
        lambda n: modal(input_block(text_input(placeholder=plain("p" * n)))),
        150,
        "blocks[0].element.placeholder.text",
    ),
    (
        "radio option mrkdwn text",
        lambda n: modal(
            input_block(
                {
                    "type": "radio_buttons",
                    "action_id": "r",
                    "options": [option(), {"text": md("*" + "r" * (n - 1)), "value": "2"}],
                }
            )
        ),
        75,
        "blocks[0].element.options[1].text.text",
    ),
]


@pytest.mark.parametrize(("name", "build", "limit", "path"), LIMITS, ids=[c[0] for c in LIMITS])
def test_at_the_limit_passes(
    name: str, build: Callable[[int], Json], limit: int, path: str
) -> None:
    surface = build(limit)
    assert validate(surface) is surface


@pytest.mark.parametrize(("name", "build", "limit", "path"), LIMITS, ids=[c[0] for c in LIMITS])
def test_one_over_the_limit_fails_naming_path_and_limit(
    name: str, build: Callable[[int], Json], limit: int, path: str
) -> None:
    with pytest.raises(BlockKitError) as caught:
        validate(build(limit + 1))
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    assert f"limit of {limit}" in str(caught.value)


# ---- valid surfaces ----------------------------------------------------------------------


def assessment_message() -> Json:
    return message(
        {"type": "header", "text": plain("Multichannel support: supported ✅")},
        section(
            "*Contoso* &amp; partners — ¿soporte? 🇪🇸",
            block_id="summary",
            accessory=button("Details", "details", value='{"decision":"d-1"}', style="primary"),
        ),
        {"type": "section", "fields": [md("*Source*\nDirect"), md("*Kind*\nAzure")]},
        DIVIDER,
        actions(
            button(
                "Invite",
                "invite",
                confirm={
                    "title": plain("Send invite?"),
                    "text": md("The customer gets an email."),
                    "confirm": plain("Send"),
                    "deny": plain("Cancel"),
                },
            ),
            button("Docs", "docs", url="https://learn.microsoft.com/partner-center/"),
            static_select(options(3), "role"),
            {"type": "overflow", "action_id": "more", "options": options(2)},
            {"type": "datepicker", "action_id": "when", "initial_date": "2026-11-23"},
            block_id="buttons",
        ),
        {"type": "context", "elements": [md("Rule R-4 · edition 2017-03"), plain("id d-1")]},
        {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "chart"},
    )


def assess_modal() -> Json:
    return modal(
        section("Tell me about the case."),
        input_block(text_input(placeholder=plain("Contoso Ltd")), block_id="customer"),
        input_block(
            {
                "type": "static_select",
                "action_id": "source",
                "option_groups": [
                    {"label": plain("Direct"), "options": options(2)},
                    {"label": plain("Indirect"), "options": [option("Reseller", "r")]},
                ],
                "initial_option": option("Option 0", "0"),
            },
            label="Source",
            block_id="source",
        ),
        input_block(
            {
                "type": "checkboxes",
                "action_id": "kinds",
                "options": [
                    option("Azure", "azure", description=md("_consumption_")),
                    {"text": md("*M365*"), "value": "m365"},
                ],
            },
            label="Kinds",
            block_id="kinds",
        ),
        input_block(
            {"type": "radio_buttons", "action_id": "lang", "options": options(2)},
            label="Language",
            block_id="lang",
        ),
        {"type": "actions", "elements": [button()]},
        private_metadata='{"channel":"C1"}',
    )


def test_valid_message_is_returned_unchanged() -> None:
    surface = assessment_message()
    before = copy.deepcopy(surface)
    assert validate_message(surface) is surface
    assert surface == before


def test_valid_modal_and_home_are_returned_unchanged() -> None:
    for surface in (assess_modal(), home({"type": "header", "text": plain("Home")}, section())):
        before = copy.deepcopy(surface)
        assert validate_view(surface) is surface
        assert surface == before


def test_text_only_message_passes() -> None:
    assert validate_message({"text": "hello"}) == {"text": "hello"}


def test_validate_blocks_caps_depend_on_the_surface() -> None:
    blocks = [DIVIDER] * 51
    assert validate_blocks(blocks, surface="modal") is blocks
    assert validate_blocks(blocks, surface="home") is blocks
    with pytest.raises(BlockKitError, match=r"^blocks: 51 blocks exceed the message limit of 50"):
        validate_blocks(blocks, surface="message")


def test_validate_blocks_rejects_an_unknown_surface() -> None:
    with pytest.raises(ValueError, match="unknown surface"):
        validate_blocks([DIVIDER], surface="email")  # type: ignore[arg-type]


# ---- structure, types and the rules that are not lengths ---------------------------------


def fails(surface: Json, path: str, fragment: str) -> None:
    with pytest.raises(BlockKitError) as caught:
        validate(surface)
    assert caught.value.path == path, str(caught.value)
    assert fragment in str(caught.value)


def test_block_kit_error_is_a_value_error() -> None:
    assert issubclass(BlockKitError, ValueError)


def test_unknown_block_type_fails() -> None:
    # slack_sdk's Block.parse would only log and return None here.
    assert Block.parse({"type": "bogus"}) is None
    fails(message(section(), {"type": "bogus"}), "blocks[1].type", "unknown block type 'bogus'")
    fails(message({"text": md("no type")}), "blocks[0].type", "unknown block type None")


@pytest.mark.parametrize(
    ("surface", "path"),
    [
        (message(actions({"type": "bogus_button"})), "blocks[0].elements[0].type"),
        (message(section(accessory={"type": "bogus"})), "blocks[0].accessory.type"),
        (modal(input_block({"type": "bogus_input"})), "blocks[0].element.type"),
        (
            message({"type": "context", "elements": [{"type": "bogus"}]}),
            "blocks[0].elements[0].type",
        ),
    ],
)
def test_unknown_element_type_fails(surface: Json, path: str) -> None:
    fails(surface, path, "unknown element type")


@pytest.mark.parametrize(
    ("surface", "path"),
    [
        (message({"type": "context", "elements": [button()]}), "blocks[0].elements[0].type"),
        (message(actions(text_input())), "blocks[0].elements[0].type"),
        (message(section(accessory=text_input())), "blocks[0].accessory.type"),
        (modal(input_block(button())), "blocks[0].element.type"),
    ],
)
def test_element_in_the_wrong_container_fails(surface: Json, path: str) -> None:
    fails(surface, path, "is not allowed here")


def test_block_ids_must_be_unique_within_a_surface() -> None:
    surface = message(section(block_id="a"), section(block_id="b"), section(block_id="a"))
    fails(surface, "blocks[2].block_id", "duplicate block_id 'a' (also blocks[0])")
    fails(modal(input_block(text_input()), input_block(text_input())), "blocks[1].block_id", "in")


@pytest.mark.parametrize("text", ["", "   ", None])
def test_fallback_text_is_required_with_blocks(text: str | None) -> None:
    surface = message(section())
    if text is None:
        del surface["text"]
    else:
        surface["text"] = text
    fails(surface, "text", "fallback text must be non-empty")


def test_message_needs_text_or_blocks() -> None:
    fails({"blocks": []}, "text", "needs text or blocks")
    fails({"text": 42}, "text", "must be a string")


def test_legacy_attachments_are_rejected() -> None:
    fails({"text": "t", "attachments": [{"color": "#f00"}]}, "attachments", "legacy attachments")


@pytest.mark.parametrize(
    ("surface", "path", "fragment"),
    [
        (message({"type": "header", "text": md("*h*")}), "blocks[0].text.type", "plain_text"),
        (message(actions({**button(), "text": md("go")})), "blocks[0].elements[0].text.type", ""),
        (message(section("")), "blocks[0].text.text", "must not be empty"),
        (message({"type": "section"}), "blocks[0]", "needs text or fields"),
        (message(actions()), "blocks[0].elements", "non-empty list"),
        (message("not a block"), "blocks[0]", "must be an object"),  # type: ignore[arg-type]
        (message({"type": "section", "text": None}), "blocks[0].text", "must be an object"),
        (message({"type": "image", "alt_text": "a"}), "blocks[0]", "image_url or slack_file"),
        (
            message(actions({**static_select(options(2)), "option_groups": []})),
            "blocks[0].elements[0]",
            "exactly one of options, option_groups",
        ),
        (
            message(actions(button(confirm={"title": plain("t"), "text": md("x")}))),
            "blocks[0].elements[0].confirm.confirm",
            "must be an object",
        ),
        (
            message(
                actions(
                    button(
                        confirm={"title": plain("t"), "text": md("x"), "confirm": plain("y" * 31)}
                    )
                )
            ),
            "blocks[0].elements[0].confirm.confirm.text",
            "limit of 30",
        ),
    ],
)
def test_structural_errors(surface: Json, path: str, fragment: str) -> None:
    fails(surface, path, fragment)


def test_slack_sdk_second_opinion_is_reported_with_the_block_path() -> None:
    # We do not check date formats ourselves; slack_sdk's to_dict() does.
    bad_date = {"type": "datepicker", "action_id": "d", "initial_date": "23/11/2026"}
    fails(message(actions(bad_date)), "blocks[0]", "rejected by slack_sdk: initial_date")


def test_slack_sdk_parses_a_block_it_accepted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block slack_sdk accepted is not parsed again (the same JSON, the same verdict); one
    it rejected is rejected every time; a different block is parsed."""
    parsed: list[Any] = []
    parse = Block.parse

    def counting(block: Any) -> Any:
        parsed.append(block)
        return parse(block)

    monkeypatch.setattr(blockkit.Block, "parse", counting)
    monkeypatch.setattr(blockkit, "_SDK_ACCEPTED", {})
    block = section("cached once", block_id="b1")
    validate_message(message(block))
    validate_message(message(copy.deepcopy(block)))
    assert len(parsed) == 1
    validate_message(message(section("another", block_id="b1")))
    assert len(parsed) == 2
    bad_date = {"type": "datepicker", "action_id": "d", "initial_date": "23/11/2026"}
    for _ in range(2):
        fails(message(actions(bad_date)), "blocks[0]", "rejected by slack_sdk: initial_date")
    assert len(parsed) == 4


@pytest.mark.parametrize(
    ("surface", "path", "fragment"),
    [
        ({"type": "bogus", "blocks": [section()]}, "type", "'modal' or 'home'"),
        ({"type": "modal", "blocks": [section()]}, "title", "needs a title"),
        (modal(), "blocks", "at least one block"),
        (modal(input_block(text_input()), submit=None), "submit", "input blocks"),
        ({**home(section()), "submit": plain("No")}, "submit", "Home tab"),
        (modal(section(), title=md("*t*")), "title.type", "plain_text"),
        (modal(section(), private_metadata=7), "private_metadata", "must be a string"),
        (modal(section(), title=plain("")), "title.text", "must not be empty"),
    ],
)
def test_view_errors(surface: Json, path: str, fragment: str) -> None:
    if surface.get("submit", "") is None:
        del surface["submit"]
    fails(surface, path, fragment)


def test_errors_inside_view_blocks_use_the_same_paths() -> None:
    fails(home(section(), section("x" * 3001)), "blocks[1].text.text", "limit of 3000")


# ---- why our own layer exists: what slack_sdk 3.47 lets through --------------------------


@pytest.mark.parametrize(
    "block",
    [
        {"type": "section", "fields": [md("x" * 2001)]},
        actions({"type": "bogus"}),  # silently dropped by BlockElement.parse
        {"type": "header", "text": md("mrkdwn header")},
        input_block({"type": "checkboxes", "action_id": "c", "options": options(11)}),
        section(accessory={"type": "overflow", "options": [option("o" * 200)]}),
    ],
)
def test_slack_sdk_alone_misses_these_but_we_do_not(block: Json) -> None:
    parsed = Block.parse(block)
    assert parsed is not None
    parsed.to_dict()  # no error from slack_sdk: if this starts failing, the SDK caught up
    with pytest.raises(BlockKitError):
        validate_blocks([block], surface="modal")


def test_allowed_element_types_are_all_known_to_slack_sdk() -> None:
    for allowed in (
        ACTIONS_ELEMENT_TYPES,
        ACCESSORY_ELEMENT_TYPES,
        INPUT_ELEMENT_TYPES,
        CONTEXT_ELEMENT_TYPES,
    ):
        assert allowed <= KNOWN_ELEMENT_TYPES, allowed - KNOWN_ELEMENT_TYPES


def test_production_skips_slack_sdk_and_keeps_its_own_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Off (production): slack_sdk parses nothing, our own walk still refuses what it knows."""
    parsed: list[Any] = []
    monkeypatch.setattr(blockkit.Block, "parse", lambda block: parsed.append(block))
    monkeypatch.setattr(blockkit, "SDK_SECOND_OPINION", False)
    monkeypatch.setattr(blockkit, "_SDK_ACCEPTED", {})
    validate_message(message(section("fine", block_id="b1")))
    validate_view({"type": "home", "blocks": [section("home")]})
    assert parsed == []
    fails(message(section("x" * 3001)), "blocks[0].text.text", "limit of 3000")
