"""Turn Block Kit messages and views into readable terminal text (for ``mcbot try``).

Pure functions, no I/O. ``render_message`` and ``render_view`` show what a Slack user would see;
every interactive element also shows its ``action_id`` in parentheses, which is what the user of
``mcbot try`` passes to ``--click``.

mrkdwn is converted in one pass over the raw text: code spans and ``<...>`` tokens are set aside
first (so formatting markers and emoji inside them stay untouched), bold/italic/strike markers are
stripped, emoji shortcodes mapped, and the entities ``&lt;`` ``&gt;`` ``&amp;`` are decoded LAST.
User text the bot escaped (``&lt;!channel&gt;``) therefore shows literally as ``<!channel>`` and is
never read as a mention or a link.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["EMOJI", "mrkdwn_to_text", "render_blocks", "render_message", "render_view", "wrap"]

DEFAULT_WIDTH = 100

EMOJI: dict[str, str] = {
    "white_check_mark": "✅",
    "no_entry": "⛔",
    "warning": "⚠️",
    "large_orange_diamond": "🔶",
    "hourglass": "⏳",
    "email": "📧",
    "tada": "🎉",
    "x": "❌",
    "lock": "🔒",
}

_PROTECTED = re.compile(r"```.*?```|`[^`\n]+`|<[^<>\n]+>", re.DOTALL)
_SLOT = re.compile(r"\x00(\d+)\x01")
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
# Slack only formats when the markers sit at word boundaries: ``snake_case`` is not italic.
_FORMATS = [
    re.compile(rf"(?<![^\W_]){m}(?!\s)([^{m}\n]+?)(?<!\s){m}(?![^\W_])") for m in (r"\*", "_", "~")
]
# Continuation lines of a wrapped line are indented past its indentation and list marker.
_HANGING = re.compile(r"\s*(?:[-•·>]\s+|\d+[.)]\s+|\[[ x]\]\s+|\([ •]\)\s+)?")


def mrkdwn_to_text(text: str) -> str:
    """Convert Slack mrkdwn to plain terminal text (code backticks kept)."""
    slots: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        token = match.group()
        slots.append(token if token.startswith("`") else _angle(token[1:-1]))
        return f"\x00{len(slots) - 1}\x01"

    text = _PROTECTED.sub(set_aside, text)
    text = _emoji(text)
    for pattern in _FORMATS:
        text = pattern.sub(r"\1", text)
    text = _SLOT.sub(lambda m: slots[int(m.group(1))], text)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group()], text)


def _angle(token: str) -> str:
    """``@U1`` / ``#C1|name`` / ``!here`` / ``url|label`` -> what Slack displays."""
    target, _, label = token.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:
            return label
        name = target[1:]
        return "@" + (name.split("^", 1)[1] if name.startswith("subteam^") else name)
    if not label or label == target or (target.startswith("mailto:") and label == target[7:]):
        return label or target
    return f"{label} ({target})"


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group()), text)


def _text(obj: Any) -> str:
    """A text object (mrkdwn or plain_text), or a bare string taken as mrkdwn."""
    if not obj:
        return ""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj)
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(obj.get("text", ""))
    text = obj.get("text", "")
    return _emoji(text) if obj.get("emoji", True) else text


def _columns(text: str) -> int:
    """Terminal columns: wide characters (most emoji) take two, joiners and accents none."""
    return sum(_column(c) for c in text)


def _column(c: str) -> int:
    if unicodedata.combining(c) or c in "\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(c) in "WF" else 1


def wrap(text: str, width: int = DEFAULT_WIDTH) -> str:
    """Wrap each line at ``width`` on spaces only (a URL is never split), hanging indentation."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * len(_HANGING.match(line).group())  # type: ignore[union-attr]
        out += textwrap.wrap(
            line,
            width,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [line]
    return "\n".join(out)


# --- elements -------------------------------------------------------------------------------


def _options(el: dict[str, Any]) -> list[tuple[str | None, list[tuple[str, bool]]]]:
    """(group label or None, [(option text, selected)]) for any element with options."""
    chosen = [el["initial_option"]] if el.get("initial_option") else el.get("initial_options", [])
    values = {o.get("value") for o in chosen}
    groups: list[tuple[str | None, list[Any]]] = (
        [(None, el.get("options", []))] if el.get("options") else []
    )
    groups += [(_text(g.get("label")), g.get("options", [])) for g in el.get("option_groups", [])]
    return [
        (label, [(_text(o.get("text")), o.get("value") in values) for o in opts])
        for label, opts in groups
    ]


def _selected(el: dict[str, Any]) -> str:
    return ", ".join(t for _, opts in _options(el) for t, on in opts if on)


def _suffix(el: dict[str, Any]) -> str:
    out = f" ({el['action_id']})" if el.get("action_id") else ""
    return out + (f" → {el['url']}" if el.get("url") else "")


def _control(el: dict[str, Any], *, accessory: bool = False) -> str:
    """One interactive element on one line: a button, a select, an overflow..."""
    kind = el.get("type", "")
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    if kind == "button":
        label = _text(el.get("text"))
        if accessory:
            return f"[button: {label}]" + _suffix(el)
        styles = {"primary": ("[*", "*]"), "danger": ("[!", "!]")}
        left, right = styles.get(el.get("style", ""), ("[", "]"))
        return f"{left} {label} {right}" + _suffix(el)
    shown = _selected(el) or _text(el.get("placeholder")) or _initial(el)
    if "select" in kind:
        shown = shown or "Choose…"
        return (f"[select: {shown}]" if accessory else f"[{shown} ▾]") + _suffix(el)
    if not shown:
        shown = " | ".join(t for _, opts in _options(el) for t, _on in opts)
    return (f"[{kind}: {shown}]" if shown else f"[{kind}]") + _suffix(el)


def _initial(el: dict[str, Any]) -> str:
    for key in ("initial_value", "initial_date", "initial_time", "initial_date_time"):
        if el.get(key) not in (None, ""):
            return str(el[key])
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if el.get(key):
            return ("@" if key == "initial_user" else "#") + str(el[key])
    return ""


def _input(block: dict[str, Any]) -> list[str]:
    el = block.get("element", {})
    kind = el.get("type", "")
    lines = [_text(block.get("label")) + (" (optional)" if block.get("optional") else "")]
    if kind in ("checkboxes", "radio_buttons"):
        on, off = ("[x]", "[ ]") if kind == "checkboxes" else ("(•)", "( )")
        lines += [f"  {on if sel else off} {t}" for _, opts in _options(el) for t, sel in opts]
    else:
        desc = f"  [{kind}{', multiline' if el.get('multiline') else ''}]"
        if _initial(el) or _selected(el):
            desc += f' = "{_initial(el) or _selected(el)}"'
        elif el.get("placeholder"):
            desc += f" {_text(el['placeholder'])}"
        lines.append(desc)
        for label, opts in _options(el):
            shown = " | ".join(t + (" ✓" if sel else "") for t, sel in opts)
            lines.append(f"    {label or 'options'}: {shown}")
    if block.get("hint"):
        lines.append(f"  · {_text(block['hint'])}")
    return lines


# --- blocks ---------------------------------------------------------------------------------


def _rich_inline(elements: Iterable[dict[str, Any]]) -> str:
    parts = []
    for e in elements:
        kind = e.get("type")
        if kind == "text":
            parts.append(e.get("text", ""))
        elif kind == "link":
            label = e.get("text")
            parts.append(f"{label} ({e['url']})" if label and label != e["url"] else e["url"])
        elif kind == "emoji":
            code = e.get("unicode", "")
            glyph = "".join(chr(int(c, 16)) for c in code.split("-")) if code else ""
            parts.append(EMOJI.get(e.get("name", ""), glyph or f":{e.get('name')}:"))
        elif kind in ("user", "usergroup", "channel", "broadcast"):
            key = {"user": "user_id", "usergroup": "usergroup_id", "channel": "channel_id"}
            parts.append(("#" if kind == "channel" else "@") + e.get(key.get(kind, "range"), ""))
        else:
            parts.append(str(e.get("fallback") or e.get("text") or e.get("value") or ""))
    return "".join(parts)


def _rich_text(block: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for el in block.get("elements", []):
        kind, inner = el.get("type"), el.get("elements", [])
        if kind == "rich_text_list":
            pad = "  " * el.get("indent", 0)
            for i, item in enumerate(inner):
                mark = f"{el.get('offset', 0) + i + 1}." if el.get("style") == "ordered" else "•"
                lines.append(f"{pad}{mark} {_rich_inline(item.get('elements', []))}")
        elif kind == "rich_text_quote":
            lines += ["> " + line for line in _rich_inline(inner).split("\n")]
        elif kind == "rich_text_preformatted":
            lines += ["    " + line for line in _rich_inline(inner).split("\n")]
        else:
            lines += _rich_inline(inner).split("\n")
    return lines


def _block(block: dict[str, Any], width: int) -> list[str]:
    kind = block.get("type", "")
    if kind == "header":
        title = _text(block.get("text"))
        return [title, "=" * min(_columns(title), width)]
    if kind == "section":
        lines = _text(block.get("text")).split("\n") if block.get("text") else []
        for field in block.get("fields", []):
            lines += _text(field).split("\n")
        if block.get("accessory"):
            lines.append("  " + _control(block["accessory"], accessory=True))
        return lines
    if kind == "context":
        parts = [
            f"[image: {e.get('alt_text', '')}]" if e.get("type") == "image" else _text(e)
            for e in block.get("elements", [])
        ]
        return ["  · " + line for line in "  ".join(parts).split("\n")]
    if kind == "divider":
        return ["─" * width]
    if kind == "actions":  # packed by element, so that no button is split across lines
        lines = [""]
        for control in (_control(e) for e in block.get("elements", [])):
            joined = f"{lines[-1]}  {control}" if lines[-1] else control
            if lines[-1] and _columns(joined) > width:
                lines.append(control)
            else:
                lines[-1] = joined
        return lines
    if kind == "input":
        return _input(block)
    if kind == "image":
        title = _text(block.get("title"))
        return [f"[image: {block.get('alt_text', '')}]" + (f" {title}" if title else "")]
    if kind == "rich_text":
        return _rich_text(block)
    return [f"[{kind} block]"]


def render_blocks(blocks: Iterable[dict[str, Any]], *, width: int = DEFAULT_WIDTH) -> str:
    """Blocks one after another, separated by blank lines, wrapped at ``width``."""
    return wrap("\n\n".join("\n".join(_block(b, width)) for b in blocks), width)


def render_message(
    message: dict[str, Any], *, title: str | None = None, width: int = DEFAULT_WIDTH
) -> str:
    """A message payload as the Slack user sees it (``text`` only when there are no blocks)."""
    head: list[str] = []
    if title:
        head.append(f"── {title} ".ljust(width, "─"))
    notes = [
        note
        for key, value, note in (
            ("response_type", "ephemeral", "only visible to you"),
            ("replace_original", True, "replaces the original message"),
            ("delete_original", True, "deletes the original message"),
        )
        if message.get(key) in (value, str(value).lower())
    ]
    if notes:
        head.append(f"({' · '.join(notes)})")
    if message.get("blocks"):
        body = render_blocks(message["blocks"], width=width)
    else:
        body = wrap(mrkdwn_to_text(message.get("text", "")), width)
    return "\n".join([*head, body])


def render_view(view: dict[str, Any], *, width: int = DEFAULT_WIDTH) -> str:
    """A modal or Home tab: a boxed title, the blocks, then the modal's Submit / Close buttons."""
    is_home = view.get("type") == "home"
    title = _text(view.get("title")) or ("Home" if is_home else "Modal")
    rule = "─" * (_columns(title) + 2)
    parts = [f"╭{rule}╮\n│ {title} │\n╰{rule}╯", render_blocks(view.get("blocks", []), width=width)]
    if not is_home:
        submit = _text(view.get("submit"))
        buttons = [f"[ {submit} ]"] if submit else []
        parts.append("  ".join([*buttons, f"[ {_text(view.get('close')) or 'Cancel'} ]"]))
    return "\n\n".join(p for p in parts if p)
