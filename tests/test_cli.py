"""The `mcbot` CLI: assess, rules, invite-link in text and JSON; bad input exits 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from policy import Decision

PROVIDER = "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00"
RESELLER = "0b7e4f52-3c1d-4a9e-8f20-7d6c5b4a3e21"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse exits on bad input and --help
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_assess_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "assess", "--role", "indirect_reseller", "--subscription", "ea:license"
    )
    assert code == 0
    assert out.startswith("SUPPORTED:")
    lines = [line.strip() for line in out.splitlines()]
    numbered = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4."}]
    assert numbered[1].startswith("1. Request a reseller relationship")  # [0] is the subscription
    assert "2. Ask your indirect provider for the invitation" in out
    assert "Rule table-reseller-no-own-invitation" in out
    assert "Indirect resellers working for a direct CSP partner cannot create" in out
    assert "policy edition 2017-03" in out


def test_assess_text_in_spanish_quotes_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "assess",
        "--role",
        "direct",
        "--subscription",
        "csp_partner:license",
        "--lang",
        "es",
    )
    assert code == 0
    assert "Los clientes no pueden cambiar suscripciones basadas en licencias" in out


def test_assess_json_is_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "assess",
        "--role",
        "direct",
        "--subscription",
        "EA:License",
        "--subscription",
        "csp_partner:license",
        "--json",
    )
    assert code == 0
    decision = Decision.model_validate(json.loads(out))
    assert decision.outcome.value == "partial"
    assert decision.step_codes() == [
        "request_relationship",
        "send_invitation_to_customer",
        "wait_for_term_end_or_cancel",
    ]
    assert all(step.citation.text_es for step in decision.steps)


def test_assess_every_source_kind_role(capsys: pytest.CaptureFixture[str]) -> None:
    from policy import Kind, Role, Source

    for role in Role:
        for source in Source:
            for kind in Kind:
                code, out, err = run(
                    capsys,
                    "assess",
                    "--role",
                    role.value,
                    "--subscription",
                    f"{source.value}:{kind.value}",
                    "--json",
                )
                assert code == 0, err
                assert json.loads(out)["steps"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["assess", "--role", "boss", "--subscription", "ea:license"], "direct"),
        (["assess", "--role", "direct", "--subscription", "ea"], "SOURCE:KIND"),
        (["assess", "--role", "direct", "--subscription", "shop:license"], "own_advisor_sale"),
        (["assess", "--role", "direct", "--subscription", "ea:seats"], "license, usage"),
        (["assess", "--role", "direct"], "--subscription"),
        (["assess", "--role", "direct", "--subscription", "ea:usage", "--cloud", "mars"], "us_gov"),
        (["frobnicate"], "assess"),
        (["invite-link", "reseller"], "--partner-tenant-id is required"),
        (["invite-link", "reseller", "--partner-tenant-id", "nope"], "GUID"),
        (
            [
                "invite-link",
                "indirect-reseller",
                "--reseller-tenant-id",
                RESELLER,
                "--reseller-partner-id",
                "12x",
                "--provider-tenant-id",
                PROVIDER,
            ],
            "reseller-partner-id",
        ),
    ],
)
def test_bad_input_exits_2_with_the_valid_values(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from policy import get_edition

    code, out, _ = run(capsys, "rules")
    assert code == 0
    for rule in get_edition().rules:
        assert rule.id in out
        assert rule.location in out
    code, out, _ = run(capsys, "rules", "--json")
    assert json.loads(out)["edition"] == "2017-03"


def test_invite_links(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "invite-link", "reseller", "--partner-tenant-id", PROVIDER, "--delegated-admin"
    )
    assert code == 0
    assert f"partnerId={PROVIDER}&msppId=0&DAP=true" in out
    code, out, _ = run(
        capsys,
        "invite-link",
        "indirect-reseller",
        "--reseller-tenant-id",
        RESELLER,
        "--reseller-partner-id",
        "1234567",
        "--provider-tenant-id",
        PROVIDER,
    )
    assert code == 0
    assert "invType=IndirectResellerRelationship" in out
    assert f"indirectCSPId={PROVIDER}" in out
    code, out, _ = run(capsys, "invite-link", "gdap", "--relationship-id", "abc-123")
    assert out.strip().endswith("granularAdminRelationships/abc-123")


def test_console_script_runs_and_has_help() -> None:
    """The installed `mcbot` entry point, as a user runs it."""
    exe = Path(sys.executable).with_name("mcbot")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "assess" in out.stdout and "invite-link" in out.stdout
    bad = subprocess.run(
        [exe, "assess", "--role", "direct", "--subscription", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
