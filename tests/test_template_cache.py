"""Compiled templates are kept on disk between processes (bot/core/ui/render.py,
`_CompiledTemplates`): a new process renders a template it has seen before without parsing
and compiling it again, never with code compiled under other environment options, and a
place it cannot write is no error. Counted (calls to Jinja's compiler), not timed."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest

from bot.core.ui import render

TEMPLATE = "text/errors.txt.j2"
CONTEXT = {"error": "bad_choice", "what": "role", "value": "x", "valid": ["a", "b"]}


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp directory, as Jinja finds it, is this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja parses and compiles from source."""
    seen: list[str] = []
    original = jinja2.Environment.compile

    def compile(self: jinja2.Environment, source: Any, name: Any = None, *a: Any, **k: Any) -> Any:
        seen.append(name)
        return original(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return seen


def fresh(lang: str = "en") -> jinja2.Environment:
    """A new environment, as a new process builds it (`environment` itself is cached)."""
    build: Callable[[str], jinja2.Environment] = render.environment.__wrapped__
    return build(lang)


def test_a_new_process_loads_what_an_earlier_one_compiled(
    temp_dir: Path, compiles: list[str]
) -> None:
    first = fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT)
    assert compiles == [TEMPLATE]
    cache_dir = temp_dir / f"_jinja2-cache-{os.getuid()}"
    kept = list(cache_dir.glob("__multichannel_*.cache"))
    assert len(kept) == 1
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700  # its files are loaded as code

    again = fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT)
    assert compiles == [TEMPLATE]  # not compiled again
    assert again == first
    # Another language shares the compiled code: the catalog is bound when it renders.
    spanish = fresh("es").get_template(TEMPLATE).render(lang="es", **CONTEXT)
    assert compiles == [TEMPLATE]
    assert spanish != first


def test_other_environment_options_never_get_code_compiled_under_the_old_ones(
    temp_dir: Path, compiles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT)
    assert compiles == [TEMPLATE]

    # The same template under other options (as after a change of render.py): its own entry.
    build = render.environment.__wrapped__

    def changed(lang: str) -> jinja2.Environment:
        env: jinja2.Environment = build(lang)
        env.trim_blocks = False
        env.bytecode_cache = render._compiled_templates(env)
        return env

    changed("en").get_template(TEMPLATE).render(lang="en", **CONTEXT)
    assert compiles == [TEMPLATE, TEMPLATE]
    assert len(list(temp_dir.glob("_jinja2-cache-*/__multichannel_*.cache"))) == 2


def test_a_changed_template_is_compiled_again(
    temp_dir: Path, compiles: list[str], tmp_path: Path
) -> None:
    """Jinja's checksum of the source, with our cache: an edited template is never served
    from the code of its earlier text."""
    folder = tmp_path / "templates"
    folder.mkdir()
    page = folder / "page.txt.j2"

    def rendered() -> str:
        env = fresh()
        env.loader = jinja2.FileSystemLoader(folder)
        return env.get_template("page.txt.j2").render(who="you")

    page.write_text("hello {{ who }}")
    assert rendered() == "hello you"
    assert rendered() == "hello you"
    assert compiles == ["page.txt.j2"]
    page.write_text("goodbye {{ who }}")
    assert rendered() == "goodbye you"
    assert compiles == ["page.txt.j2", "page.txt.j2"]


def test_no_place_to_keep_compiled_templates_is_no_error(
    temp_dir: Path, compiles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temp directory is a file: Jinja cannot make its directory there.
    blocked = temp_dir / "not-a-directory"
    blocked.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocked))
    env = fresh()
    assert env.bytecode_cache is None
    assert env.get_template(TEMPLATE).render(lang="en", **CONTEXT)

    # A directory that stops taking files (full disk, read-only mount) after the start.
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    env = fresh()
    cache = env.bytecode_cache
    assert isinstance(cache, jinja2.FileSystemBytecodeCache)
    cache.directory = str(blocked)
    assert env.get_template(TEMPLATE).render(lang="en", **CONTEXT)
    assert compiles == [TEMPLATE, TEMPLATE]


def test_a_damaged_file_is_compiled_again(temp_dir: Path, compiles: list[str]) -> None:
    first = fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT)
    (kept,) = temp_dir.glob("_jinja2-cache-*/__multichannel_*.cache")
    # cut short inside the pickled checksum, after Jinja's header
    kept.write_bytes(kept.read_bytes()[: len(jinja2.bccache.bc_magic) + 4])
    assert fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT) == first
    assert compiles == [TEMPLATE, TEMPLATE]
    # and written whole again, for the next process
    assert fresh().get_template(TEMPLATE).render(lang="en", **CONTEXT) == first
    assert compiles == [TEMPLATE, TEMPLATE]
