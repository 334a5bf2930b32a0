"""Validate every Block Kit surface before it is sent to Slack.

A surface Slack would refuse (``invalid_blocks``, ``invalid_arguments``) is a bug in a template,
so it must fail in tests, never in front of a user. Two layers:

1. Our own walk over the plain dicts, for the limits in docs/slack.md. It names the exact path
   (``blocks[3].fields[2].text``) and covers what ``slack_sdk.models`` does not check in 3.47:
   the 50-block message cap, the 2000-char field cap, checkbox/radio option counts, option
   text/description/value ≤ 75, overflow and radio options (kept as raw dicts by the SDK, so never
   validated), empty text, plain_text-only places (header, button, label...), element types that
   are not allowed in a container, unknown element types (``BlockElement.parse`` logs and returns
   None, so an actions block quietly loses the element), duplicate block_ids, fallback ``text``.
2. ``slack_sdk.models`` itself: ``Block.parse(...)`` then ``to_dict()`` per block (``to_dict``
   validates nested objects; ``validate_json`` only checks the object it is called on), and
   ``View(**view).validate_json()``. Anything the SDK knows that we forgot is still caught —
   in the test suite, which turns it on (``SDK_SECOND_OPINION``, tests/conftest.py) and renders
   every template. In production it is off: a surface's shape comes from its template, which
   the tests render; what varies at run time (user text, names, counts) is what layer 1
   checks (lengths, empty text, counts), and the SDK checks nothing about it that layer 1
   does not. Its cost was 12 % of the server's CPU per notification (docs/architecture.md,
   "Notifications").

Lengths are counted in Python characters (code points).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
ID_MAX = 255  # action_id, block_id, callback_id
OPTION_TEXT_MAX = 75
OPTION_DESCRIPTION_MAX = 75
OPTION_VALUE_MAX = 75
OPTION_GROUP_LABEL_MAX = 75
SELECT_OPTIONS_MAX = 100
OVERFLOW_OPTIONS_MAX = 5
CHOICE_OPTIONS_MAX = 10  # checkboxes, radio_buttons
VIEW_TEXT_MAX = 24  # modal title, submit, close
PRIVATE_METADATA_MAX = 3000
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
PLACEHOLDER_MAX = 150
LABEL_MAX = 2000  # input label and hint
IMAGE_ALT_TEXT_MAX = 2000
CONFIRM_LIMITS: dict[str, int] = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

_SINGLE_SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
}
_SELECTS = _SINGLE_SELECTS | {f"multi_{kind}" for kind in _SINGLE_SELECTS}
_PICKERS = {"datepicker", "timepicker", "datetimepicker"}
_CHOICES = {"checkboxes", "radio_buttons"}
ACTIONS_ELEMENT_TYPES = frozenset(
    {"button", "overflow", "workflow_button"} | _SELECTS | _PICKERS | _CHOICES
)
ACCESSORY_ELEMENT_TYPES = frozenset(
    {"button", "overflow", "workflow_button", "image", "datepicker", "timepicker"}
    | _SELECTS
    | _CHOICES
)
INPUT_ELEMENT_TYPES = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
    | {"rich_text_input", "file_input"}
    | _SELECTS
    | _PICKERS
    | _CHOICES
)
CONTEXT_ELEMENT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


def _subclasses(cls: type) -> Iterator[type]:
    subs: list[type] = cls.__subclasses__()
    for sub in subs:
        yield sub
        yield from _subclasses(sub)


def _types(base: type) -> frozenset[str]:
    return frozenset(t for c in _subclasses(base) if isinstance(t := getattr(c, "type", None), str))


#: Every block type ``Block.parse`` knows (it returns None for any other).
KNOWN_BLOCK_TYPES = _types(Block)
#: Every element type slack_sdk can parse, plus the two text object types.
KNOWN_ELEMENT_TYPES = _types(BlockElement) | TEXT_TYPES

_SDK_ERRORS = (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError)

#: layer 2, slack_sdk's second opinion: on in the test suite (tests/conftest.py), off in
#: production (see the module's docstring)
SDK_SECOND_OPINION = False


class BlockKitError(ValueError):
    """A surface Slack would reject; ``path`` locates the offending value."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def validate_message(message: dict[str, Any]) -> dict[str, Any]:
    """Validate a chat.postMessage / chat.update / response_url payload; return it unchanged."""
    _dict(message, "message")
    if message.get("attachments"):
        raise BlockKitError("attachments", "legacy attachments are not validated; use blocks")
    blocks = message.get("blocks")
    text = message.get("text")
    if text is not None:
        _string(text, "text", None, min_length=0)
    if blocks is not None:
        validate_blocks(blocks, surface="message")
    if not isinstance(text, str) or not text.strip():
        if blocks:
            raise BlockKitError("text", "fallback text must be non-empty when blocks are present")
        raise BlockKitError("text", "a message needs text or blocks")
    return message


def validate_view(view: dict[str, Any]) -> dict[str, Any]:
    """Validate a modal or Home tab view (views.open/update/push/publish); return it unchanged."""
    _dict(view, "view")
    kind = view.get("type")
    if kind not in ("modal", "home"):
        raise BlockKitError("type", f"view type must be 'modal' or 'home', not {kind!r}")
    if kind == "modal" and "title" not in view:
        raise BlockKitError("title", "a modal needs a title")
    for key in ("title", "submit", "close"):
        if key in view:
            if kind == "home" and key != "title":
                raise BlockKitError(key, "a Home tab cannot have submit or close")
            _text(view[key], key, VIEW_TEXT_MAX, plain_only=True)
    for key, limit in (("private_metadata", PRIVATE_METADATA_MAX), ("callback_id", ID_MAX)):
        if view.get(key) is not None:
            _string(view[key], key, limit, min_length=0)
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise BlockKitError("blocks", "a view needs at least one block")
    validate_blocks(blocks, surface=kind)
    has_input = any(b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and "submit" not in view:
        raise BlockKitError("submit", "a modal with input blocks needs a submit button")
    if SDK_SECOND_OPINION:
        try:
            View(**view).validate_json()  # view-level rules; blocks were checked one by one
        except _SDK_ERRORS as exc:
            raise BlockKitError("view", f"rejected by slack_sdk: {exc}") from exc
    return view


def validate_blocks(blocks: list[dict[str, Any]], *, surface: Surface) -> list[dict[str, Any]]:
    """Validate a list of blocks for one surface; return it unchanged."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}")
    if not isinstance(blocks, list):
        raise BlockKitError("blocks", f"must be a list, not {type(blocks).__name__}")
    if len(blocks) > MAX_BLOCKS[surface]:
        raise BlockKitError(
            "blocks", f"{len(blocks)} blocks exceed the {surface} limit of {MAX_BLOCKS[surface]}"
        )
    seen: dict[str, str] = {}
    for i, block in enumerate(blocks):
        path = f"blocks[{i}]"
        _block(block, path)
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                raise BlockKitError(
                    f"{path}.block_id", f"duplicate block_id {block_id!r} (also {seen[block_id]})"
                )
            seen[block_id] = path
        if SDK_SECOND_OPINION:
            _sdk_block(block, path)
    return blocks


# ---- blocks -------------------------------------------------------------------------------


def _block(block: Any, path: str) -> None:
    _dict(block, path)
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        raise BlockKitError(f"{path}.type", f"unknown block type {kind!r}")
    if "block_id" in block:
        _string(block["block_id"], f"{path}.block_id", ID_MAX)
    check = _BLOCK_CHECKS.get(kind)
    if check is not None:
        check(block, path)


def _section(block: dict[str, Any], path: str) -> None:
    if "text" not in block and "fields" not in block:
        raise BlockKitError(path, "a section needs text or fields")
    if "text" in block:
        _text(block["text"], f"{path}.text", SECTION_TEXT_MAX)
    if "fields" in block:
        fields = _list(block["fields"], f"{path}.fields", SECTION_FIELDS_MAX)
        for j, field in enumerate(fields):
            _text(field, f"{path}.fields[{j}]", SECTION_FIELD_TEXT_MAX)
    if "accessory" in block:
        _element(block["accessory"], f"{path}.accessory", ACCESSORY_ELEMENT_TYPES)


def _header(block: dict[str, Any], path: str) -> None:
    _text(block.get("text"), f"{path}.text", HEADER_TEXT_MAX, plain_only=True)


def _actions(block: dict[str, Any], path: str) -> None:
    elements = _list(block.get("elements"), f"{path}.elements", ACTIONS_ELEMENTS_MAX)
    for j, element in enumerate(elements):
        _element(element, f"{path}.elements[{j}]", ACTIONS_ELEMENT_TYPES)


def _context(block: dict[str, Any], path: str) -> None:
    elements = _list(block.get("elements"), f"{path}.elements", CONTEXT_ELEMENTS_MAX)
    for j, element in enumerate(elements):
        _element(element, f"{path}.elements[{j}]", CONTEXT_ELEMENT_TYPES)


def _input(block: dict[str, Any], path: str) -> None:
    _text(block.get("label"), f"{path}.label", LABEL_MAX, plain_only=True)
    if "hint" in block:
        _text(block["hint"], f"{path}.hint", LABEL_MAX, plain_only=True)
    _element(block.get("element"), f"{path}.element", INPUT_ELEMENT_TYPES)


def _image_block(block: dict[str, Any], path: str) -> None:
    _image(block, path)
    if "title" in block:
        _text(block["title"], f"{path}.title", IMAGE_ALT_TEXT_MAX, plain_only=True)


# ---- elements -----------------------------------------------------------------------------


def _element(element: Any, path: str, allowed: frozenset[str]) -> None:
    _dict(element, path)
    kind = element.get("type")
    if kind not in KNOWN_ELEMENT_TYPES:
        raise BlockKitError(f"{path}.type", f"unknown element type {kind!r}")
    if kind not in allowed:
        raise BlockKitError(f"{path}.type", f"element type {kind!r} is not allowed here")
    if kind in TEXT_TYPES:
        _text(element, path, None)
        return
    if kind == "image":
        _image(element, path)
        return
    if "action_id" in element:
        _string(element["action_id"], f"{path}.action_id", ID_MAX)
    if "placeholder" in element:
        _text(element["placeholder"], f"{path}.placeholder", PLACEHOLDER_MAX, plain_only=True)
    if "confirm" in element:
        _confirm(element["confirm"], f"{path}.confirm")
    if kind == "button":
        _text(element.get("text"), f"{path}.text", BUTTON_TEXT_MAX, plain_only=True)
        if "value" in element:
            _string(element["value"], f"{path}.value", BUTTON_VALUE_MAX)
        if "url" in element:
            _string(element["url"], f"{path}.url", URL_MAX)
    elif kind == "overflow":
        options = _list(element.get("options"), f"{path}.options", OVERFLOW_OPTIONS_MAX)
        _options(options, f"{path}.options", plain_only=True)
    elif kind in _CHOICES:
        options = _list(element.get("options"), f"{path}.options", CHOICE_OPTIONS_MAX)
        _options(options, f"{path}.options", plain_only=False)
        _initial_options(element, path, plain_only=False)
    elif kind in ("static_select", "multi_static_select"):
        _static_select(element, path)


def _static_select(element: dict[str, Any], path: str) -> None:
    if ("options" in element) == ("option_groups" in element):
        raise BlockKitError(path, "a static select needs exactly one of options, option_groups")
    if "options" in element:
        options = _list(element["options"], f"{path}.options", SELECT_OPTIONS_MAX)
        _options(options, f"{path}.options", plain_only=True)
    else:
        groups = _list(element["option_groups"], f"{path}.option_groups", SELECT_OPTIONS_MAX)
        for g, group in enumerate(groups):
            gpath = f"{path}.option_groups[{g}]"
            _dict(group, gpath)
            _text(group.get("label"), f"{gpath}.label", OPTION_GROUP_LABEL_MAX, plain_only=True)
            options = _list(group.get("options"), f"{gpath}.options", SELECT_OPTIONS_MAX)
            _options(options, f"{gpath}.options", plain_only=True)
    _initial_options(element, path, plain_only=True)


def _initial_options(element: dict[str, Any], path: str, *, plain_only: bool) -> None:
    if "initial_option" in element:
        _option(element["initial_option"], f"{path}.initial_option", plain_only=plain_only)
    if "initial_options" in element:
        initial = _list(element["initial_options"], f"{path}.initial_options", None)
        _options(initial, f"{path}.initial_options", plain_only=plain_only)


def _options(options: list[Any], path: str, *, plain_only: bool) -> None:
    for k, option in enumerate(options):
        _option(option, f"{path}[{k}]", plain_only=plain_only)


def _option(option: Any, path: str, *, plain_only: bool) -> None:
    _dict(option, path)
    _text(option.get("text"), f"{path}.text", OPTION_TEXT_MAX, plain_only=plain_only)
    _string(option.get("value"), f"{path}.value", OPTION_VALUE_MAX)
    if "description" in option:
        desc = option["description"]
        _text(desc, f"{path}.description", OPTION_DESCRIPTION_MAX, plain_only=plain_only)
    if "url" in option:
        _string(option["url"], f"{path}.url", URL_MAX)


def _confirm(confirm: Any, path: str) -> None:
    _dict(confirm, path)
    for key, limit in CONFIRM_LIMITS.items():
        if key in confirm or key != "deny":  # title, text and confirm are required
            _text(confirm.get(key), f"{path}.{key}", limit, plain_only=key != "text")


def _image(image: dict[str, Any], path: str) -> None:
    _string(image.get("alt_text"), f"{path}.alt_text", IMAGE_ALT_TEXT_MAX)
    if "image_url" in image:
        _string(image["image_url"], f"{path}.image_url", URL_MAX)
    elif "slack_file" not in image:
        raise BlockKitError(path, "an image needs image_url or slack_file")


# ---- primitives ---------------------------------------------------------------------------


def _text(obj: Any, path: str, limit: int | None, *, plain_only: bool = False) -> None:
    """A text object: ``{"type": "plain_text"|"mrkdwn", "text": "..."}``, non-empty."""
    _dict(obj, path)
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    kind = obj.get("type")
    if kind not in allowed:
        wanted = " or ".join(sorted(allowed))
        raise BlockKitError(f"{path}.type", f"text type must be {wanted}, not {kind!r}")
    _string(obj.get("text"), f"{path}.text", limit)


def _string(value: Any, path: str, limit: int | None, *, min_length: int = 1) -> None:
    if not isinstance(value, str):
        raise BlockKitError(path, f"must be a string, not {type(value).__name__}")
    if len(value) < min_length:
        raise BlockKitError(path, "must not be empty")
    if limit is not None and len(value) > limit:
        raise BlockKitError(path, f"{len(value)} characters exceed the limit of {limit}")


def _list(value: Any, path: str, limit: int | None) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise BlockKitError(path, "must be a non-empty list")
    if limit is not None and len(value) > limit:
        raise BlockKitError(path, f"{len(value)} items exceed the limit of {limit}")
    return value


def _dict(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise BlockKitError(path, f"must be an object, not {type(value).__name__}")


#: blocks slack_sdk accepted, by their canonical JSON: the same block (a context line, a row
#: of buttons, a header) recurs across messages, and its verdict cannot change; bounded
_SDK_ACCEPTED: dict[str, None] = {}
SDK_ACCEPTED_MAX = 4096


def _sdk_block(block: dict[str, Any], path: str) -> None:
    """Second opinion from slack_sdk; what it raises about the input becomes a BlockKitError.
    A block it accepted before (the same JSON) is not parsed again."""
    try:
        key: str | None = json.dumps(block, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON at all: slack_sdk says what is wrong
        key = None
    if key is not None and key in _SDK_ACCEPTED:
        return
    try:
        parsed = Block.parse(block)
        if parsed is not None:
            parsed.to_dict()  # validates the block and, recursively, every nested object
    except _SDK_ERRORS as exc:
        raise BlockKitError(path, f"rejected by slack_sdk: {exc}") from exc
    if parsed is None:  # Block.parse logs and returns None for a type it does not know
        raise BlockKitError(f"{path}.type", f"unknown block type {block.get('type')!r}")
    if key is not None:
        if len(_SDK_ACCEPTED) >= SDK_ACCEPTED_MAX:
            _SDK_ACCEPTED.clear()
        _SDK_ACCEPTED[key] = None


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "section": _section,
    "header": _header,
    "actions": _actions,
    "context": _context,
    "input": _input,
    "image": _image_block,
}
