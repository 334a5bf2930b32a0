"""bot.cli.readable: Block Kit and mrkdwn rendered as terminal text for `mcbot try`."""

from __future__ import annotations

import pytest

from bot.cli.readable import mrkdwn_to_text, render_blocks, render_message, render_view, wrap


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def button(label: str, action_id: str, style: str | None = None) -> dict[str, object]:
    b: dict[str, object] = {"type": "button", "text": plain(label), "action_id": action_id}
    return b | ({"style": style} if style else {})


# --- mrkdwn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("*bold* _italic_ ~strike~", "bold italic strike"),
        ("*_both_*", "both"),
        ("keep `code *here*` and ```block _x_```", "keep `code *here*` and ```block _x_```"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("hi <@U123>", "hi @U123"),
        ("in <#C123|general> or <#C9>", "in #general or #C9"),
        ("<!channel> <!here>", "@channel @here"),
        ("<!subteam^S1|@desk> <!subteam^S2>", "@desk @S2"),
        ("see <https://x.test/a_b_c|the docs>", "see the docs (https://x.test/a_b_c)"),
        ("<https://x.test>", "https://x.test"),
        ("<mailto:a@b.test|a@b.test>", "a@b.test"),
        ("*Customer:* Tom &amp; Jerry", "Customer: Tom & Jerry"),
        (
            ":white_check_mark: :no_entry: :warning: :tada: :unknown_thing:",
            "✅ ⛔ ⚠️ 🎉 :unknown_thing:",
        ),
        ("at 10:30:00", "at 10:30:00"),
    ],
)
def test_mrkdwn_to_text(source: str, expected: str) -> None:
    assert mrkdwn_to_text(source) == expected


def test_escaped_user_text_shows_literally_and_is_never_a_mention_or_link() -> None:
    assert mrkdwn_to_text("&lt;!channel&gt;") == "<!channel>"
    assert mrkdwn_to_text("&lt;https://x|y&gt; &lt;@U1&gt;") == "<https://x|y> <@U1>"
    assert mrkdwn_to_text("&amp;lt;") == "&lt;"  # decoded once, not twice


# --- wrapping -------------------------------------------------------------------------------


def test_wrap_on_word_boundaries_with_hanging_indent() -> None:
    out = wrap("  · " + "word " * 30, width=40).split("\n")
    assert all(len(line) <= 40 for line in out)
    assert out[0].startswith("  · word") and all(line.startswith("    word") for line in out[1:])
    assert wrap("12. " + "alpha " * 10, width=30).split("\n")[1].startswith("    alpha")


def test_wrap_never_breaks_a_url() -> None:
    url = "https://learn.microsoft.test/" + "segment/" * 20
    out = wrap(f"see {url} for more", width=50).split("\n")
    assert url in out  # alone on its line, longer than the width, intact
    assert wrap("short", width=50) == "short"


# --- blocks ---------------------------------------------------------------------------------


def test_header_section_fields_and_accessories() -> None:
    out = render_blocks(
        [
            {"type": "header", "text": plain("Supported")},
            {
                "type": "section",
                "text": md("*Role:* direct"),
                "fields": [md("*Cloud*\nGlobal"), plain("EA")],
                "accessory": button("Details", "open_details"),
            },
            {
                "type": "section",
                "text": md("Pick one"),
                "accessory": {"type": "static_select", "placeholder": plain("Choose a cloud")},
            },
        ]
    )
    assert out.split("\n")[:2] == ["Supported", "========="]
    assert "Role: direct\nCloud\nGlobal\nEA\n  [button: Details] (open_details)" in out
    assert "[select: Choose a cloud]" in out


def test_context_divider_image_rich_text_and_unknown() -> None:
    logo = {"type": "image", "image_url": "https://x/logo.png", "alt_text": "logo"}
    greeting = [
        {"type": "text", "text": "Hi "},
        {"type": "user", "user_id": "U1"},
        {"type": "emoji", "name": "tada"},
    ]
    item = {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]}
    rich = [
        {"type": "rich_text_section", "elements": greeting},
        {"type": "rich_text_list", "style": "bullet", "elements": [item]},
    ]
    blocks = [
        {"type": "context", "elements": [md("Rule `r1`"), logo]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://x/i.png", "alt_text": "A chart"},
        {"type": "rich_text", "elements": rich},
        {"type": "video", "title": plain("x")},
    ]
    assert render_blocks(blocks, width=30).split("\n\n") == [
        "  · Rule `r1`  [image: logo]",
        "─" * 30,
        "[image: A chart]",
        "Hi @U1🎉\n• one",
        "[video block]",
    ]


def test_actions_show_style_and_action_id_and_never_split_a_button() -> None:
    block = {
        "type": "actions",
        "elements": [
            button("Share in channel", "share_decision"),
            button("Create invitation", "create_invitation", "primary"),
            button("Delete", "delete", "danger"),
            {"type": "static_select", "action_id": "cloud", "placeholder": plain("Choose…")},
        ],
    }
    assert render_blocks([block]) == (
        "[ Share in channel ] (share_decision)  [* Create invitation *] (create_invitation)\n"
        "[! Delete !] (delete)  [Choose… ▾] (cloud)"
    )
    narrow = render_blocks([block], width=45).split("\n")
    assert narrow[1] == "[* Create invitation *] (create_invitation)"


def test_inputs() -> None:
    options = [{"text": plain(t), "value": t.lower()} for t in ("Direct", "Reseller")]
    text_input = {"type": "plain_text_input", "placeholder": plain("e.g. Contoso")}
    select = {"type": "static_select", "options": options, "initial_option": options[1]}
    boxes = {"type": "checkboxes", "options": options, "initial_options": options[:1]}
    blocks = [
        {
            "type": "input",
            "label": plain("Customer"),
            "optional": True,
            "hint": plain("As on the invoice"),
            "element": text_input,
        },
        {"type": "input", "label": plain("Role"), "element": select},
        {"type": "input", "label": plain("Agree"), "element": boxes},
    ]
    assert render_blocks(blocks).split("\n\n") == [
        "Customer (optional)\n  [plain_text_input] e.g. Contoso\n  · As on the invoice",
        'Role\n  [static_select] = "Reseller"\n    options: Direct | Reseller ✓',
        "Agree\n  [x] Direct\n  [ ] Reseller",
    ]


# --- messages and views ---------------------------------------------------------------------


def test_text_only_message_and_meta_notes() -> None:
    out = render_message(
        {"text": "*Done* :tada:", "response_type": "ephemeral", "replace_original": True},
        title="Reply",
        width=30,
    )
    assert (
        out
        == "── Reply "
        + "─" * 21
        + "\n(only visible to you · replaces the original message)\nDone 🎉"
    )


def test_decision_message_end_to_end() -> None:
    message = {
        "response_type": "in_channel",
        "text": "Not supported: fallback text is not shown when there are blocks",
        "blocks": [
            {"type": "header", "text": plain(":no_entry: Not supported")},
            {"type": "section", "text": md("*Customer:* Fabrikam &amp; Co\nShared by <@U42>.")},
            {"type": "context", "elements": [md("*Role:* Direct · *Cloud:* Global")]},
            {"type": "divider"},
            {"type": "section", "text": md("*1. Move the EA licenses* _(subscriptions 1, 2)_")},
            {"type": "context", "elements": [md("Rule `ea_license` · <https://x.test|page 3>")]},
            {"type": "actions", "elements": [button("Share in channel", "share_decision")]},
        ],
    }
    assert render_message(message, width=40) == "\n".join(
        [
            "⛔ Not supported",
            "================",
            "",
            "Customer: Fabrikam & Co",
            "Shared by @U42.",
            "",
            "  · Role: Direct · Cloud: Global",
            "",
            "─" * 40,
            "",
            "1. Move the EA licenses (subscriptions",
            "   1, 2)",
            "",
            "  · Rule `ea_license` · page 3",
            "    (https://x.test)",
            "",
            "[ Share in channel ] (share_decision)",
        ]
    )


def test_views() -> None:
    modal = {
        "type": "modal",
        "title": plain("Assess"),
        "submit": plain("Assess"),
        "close": plain("Cancel"),
        "blocks": [{"type": "section", "text": md("Tell me")}],
    }
    assert (
        render_view(modal)
        == "╭────────╮\n│ Assess │\n╰────────╯\n\nTell me\n\n[ Assess ]  [ Cancel ]"
    )
    home = render_view({"type": "home", "blocks": [{"type": "divider"}]}, width=10)
    assert home == "╭──────╮\n│ Home │\n╰──────╯\n\n" + "─" * 10
