"""`mcbot try`: the bot in-process against the Slack stand-in, as a user would see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "partners.example.yaml"


def test_try_answers_in_the_language_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", "/multichannel assess ea:license as direct", "--width", "100"]) == 0
    english = capsys.readouterr().out
    assert main(["try", "/multichannel assess ea:license as direct", "--lang", "es"]) == 0
    spanish = capsys.readouterr().out
    assert "SUPPORTED" in english.upper() and "Share in channel" in english
    assert "Compartir en el canal" in spanish and "Share in channel" not in spanish


def test_try_help_names_files_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["try", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "docs/partners.md" not in out
    assert "docs/partners.example.yaml" in out and EXAMPLE.exists()
    assert "--lang {en,es}" in out


def test_ask_my_provider_is_not_offered_to_a_workspace_outside_the_directory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = "/multichannel assess ea:license as reseller"
    assert main(["try", command, "--team", "T0STRANGER", "--json"]) == 0
    assert "ask_provider_for_invitation" not in capsys.readouterr().out
    # the same answer to the reseller of the directory offers it
    argv = ["try", command, "--team", "T0RESELLER", "--partners", str(EXAMPLE), "--json"]
    assert main(argv) == 0
    assert "ask_provider_for_invitation" in capsys.readouterr().out
