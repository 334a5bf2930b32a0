"""The house rules (docs/architecture.md): every module sits on one floor and imports only from
its own floor or the floors below; no import circles. Read from the code's own imports (every
`import` statement, including those inside functions and under TYPE_CHECKING), so a lazy import
cannot hide an upward arrow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: floor of each package prefix; the longest matching prefix wins. Higher floors may import
#: lower ones, never the reverse.
FLOORS: dict[str, int] = {
    "policy": 1,
    "bot.core.ui": 2,
    "bot.core.store": 2,
    "bot.core.partner_center": 2,
    "bot.core": 3,
    "bot.slack": 4,
    "bot.http": 4,
    "bot.bootstrap": 5,
    "bot.cli": 6,
    "bot.testkit": 6,
    "bot": 0,  # bot/__init__.py only
}
FLOOR_NAMES = {
    1: "policy",
    2: "service floor, inner (ui, store, partner_center)",
    3: "service floor",
    4: "adapters",
    5: "bootstrap",
    6: "entry points and test kit",
}
#: third-party packages a floor may not import (the service floor knows nothing of Bolt; policy
#: knows nothing of Slack, storage or the network)
FORBIDDEN_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "policy": ("slack_bolt", "slack_sdk", "sqlalchemy", "httpx", "aiohttp", "starlette", "jinja2"),
    "bot.core": ("slack_bolt", "starlette", "uvicorn"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("policy", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module name `name` imports (absolute; relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in MODULES else base)
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def floor_of(module: str) -> int:
    best = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len)
    return FLOORS[best]


def _own(module: str) -> str | None:
    """The project module `module` names (a package's __init__ counts as the package)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def test_every_module_has_a_floor() -> None:
    assert all(floor_of(m) > 0 for m in MODULES if m != "bot")


def test_no_module_imports_from_a_higher_floor() -> None:
    upward = []
    for module, imported in IMPORTS.items():
        for target in filter(None, map(_own, imported)):
            if floor_of(target) > floor_of(module):
                upward.append(
                    f"{module} ({FLOOR_NAMES[floor_of(module)]}) imports {target} "
                    f"({FLOOR_NAMES[floor_of(target)]})"
                )
    assert upward == []


@pytest.mark.parametrize("prefix", sorted(FORBIDDEN_THIRD_PARTY))
def test_lower_floors_do_not_import_frameworks_of_higher_ones(prefix: str) -> None:
    banned = FORBIDDEN_THIRD_PARTY[prefix]
    found = [
        f"{module} imports {target}"
        for module, imported in IMPORTS.items()
        if module == prefix or module.startswith(prefix + ".")
        for target in imported
        if target.split(".")[0] in banned
    ]
    assert found == []


def test_policy_imports_nothing_of_bot() -> None:
    assert [
        (m, t)
        for m, imported in IMPORTS.items()
        if m.startswith("policy")
        for t in imported
        if t == "bot" or t.startswith("bot.")
    ] == []


def test_no_import_circles() -> None:
    graph = {m: {t for t in map(_own, IMPORTS[m]) if t and t != m} for m in MODULES}
    # a package's __init__ importing its own submodules is not a circle of ours to draw
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert circles == []


def test_the_rules_see_real_imports() -> None:
    """The checks above would pass on an empty graph: make sure they read what is there."""
    assert "policy" in {_own(t) for t in IMPORTS["bot.core.ui.commands"]}
    assert floor_of("bot.slack.listeners.commands") > floor_of("bot.core.invitations")
    assert len(MODULES) > 80
