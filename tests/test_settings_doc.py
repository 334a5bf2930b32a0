from pathlib import Path

from bot.cli.settings_doc import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_settings_doc_is_up_to_date() -> None:
    assert DOC.read_text("utf-8") == render(), (
        "run: python -m bot.cli.settings_doc > docs/settings.md"
    )


def test_every_setting_has_a_description() -> None:
    assert "|  |" not in render()
