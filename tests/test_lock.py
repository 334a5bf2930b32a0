"""requirements.lock is what CI and the README install: every dependency pyproject.toml names is
pinned there, and the environment running these tests holds exactly the pinned versions."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text("utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {_canonical(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in specs}


def test_every_declared_dependency_is_pinned() -> None:
    assert sorted(_declared() - set(_pins())) == [], (
        "update the lock: see README.md, 'Dependencies'"
    )


def test_the_installed_versions_are_the_pinned_ones() -> None:
    pins = _pins()
    assert len(pins) > 20
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert wrong == {}, "install with: pip install -r requirements.lock (README.md)"
