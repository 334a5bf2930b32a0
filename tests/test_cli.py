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
    """Edition 2017-03, a reseller (F7, F8): its provider's invitation first, then forward it;
    no relationship request of its own; delegated admin is optional."""
    code, out, _ = run(
        capsys,
        "assess",
        "--role",
        "indirect_reseller",
        "--subscription",
        "ea:license",
        "--edition",
        "2017-03",
    )
    assert code == 0
    assert out.startswith("SUPPORTED:")
    lines = [line.strip() for line in out.splitlines()]
    numbered = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4."}]
    assert numbered[1] == "1. Ask your indirect provider for the invitation"  # [0]: subscription
    assert numbered[2] == "2. Forward the invitation to the customer"
    assert numbered[3].startswith("3. If you need admin access") and "(optional)" in numbered[3]
    assert "Request a reseller relationship" not in out
    assert "Rule table-reseller-no-own-invitation" in out
    assert "Indirect resellers working for a direct CSP partner cannot create" in out
    assert "policy edition 2017-03" in out


def test_readings_are_never_quoted(capsys: pytest.CaptureFixture[str]) -> None:
    """F12: the page's sentence is in quotation marks; our reading follows, unquoted."""
    from policy import get_edition

    rule = get_edition("2017-03").rule("condition-3-syndication-excluded")
    assert rule.reading_en
    for lang, text, reading in (
        ("en", rule.text_en, rule.reading_en),
        ("es", rule.text_es, rule.reading_es),
    ):
        code, out, _ = run(
            capsys,
            "assess",
            "--role",
            "direct",
            "--subscription",
            "syndication:license",
            "--edition",
            "2017-03",
            "--lang",
            lang,
        )
        assert code == 0
        assert f'"{text}"' in out
        assert f'"{reading}' not in out
        label = "Our reading:" if lang == "en" else "Nuestra lectura:"
        assert f"{label} {reading}" in out


@pytest.mark.parametrize(
    ("alias", "role"),
    [
        ("reseller", "indirect_reseller"),
        ("provider", "indirect_provider"),
        ("distributor", "indirect_provider"),
        ("direct_bill", "direct"),
        ("Indirect-Reseller", "indirect_reseller"),
    ],
)
def test_role_accepts_slack_aliases(
    capsys: pytest.CaptureFixture[str], alias: str, role: str
) -> None:
    code, out, err = run(
        capsys, "assess", "--role", alias, "--subscription", "ea:license", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["facts"]["role"] == role


def test_conflicting_roles_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "assess", "--role", "reseller", "--role", "direct", "--subscription", "ea:license"
    )
    assert (code, out) == (2, "")
    assert "Conflicting roles" in err and "indirect_reseller" in err and "direct" in err
    code, _, _ = run(  # the same role twice is not a conflict
        capsys,
        "assess",
        "--role",
        "reseller",
        "--role",
        "indirect_reseller",
        "--subscription",
        "ea:license",
    )
    assert code == 0


def test_too_many_subscriptions_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """F16: 51 subscriptions were a traceback."""
    from policy import MAX_SUBSCRIPTIONS

    many = ["--subscription", "ea:license"] * (MAX_SUBSCRIPTIONS + 1)
    code, out, err = run(capsys, "assess", "--role", "direct", *many)
    assert (code, out) == (2, "")
    assert f"At most {MAX_SUBSCRIPTIONS} subscriptions" in err and "Traceback" not in err
    code, _, _ = run(capsys, "assess", "--role", "direct", *many[2:])
    assert code == 0


def test_edition_default_alias_and_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def edition(*argv: str) -> str:
        code, out, err = run(
            capsys, "assess", "--role", "direct", "--subscription", "ea:license", "--json", *argv
        )
        assert code == 0, err
        return str(json.loads(out)["policy_edition"])

    monkeypatch.delenv("POLICY_EDITION", raising=False)
    assert edition() == "2026-11"  # POLICY_EDITION's default: current
    assert edition("--edition", "current") == "2026-11"
    assert edition("--edition", "2017-03") == "2017-03"
    monkeypatch.setenv("POLICY_EDITION", "2017-03")
    assert edition() == "2017-03"
    assert edition("--edition", "current") == "2026-11"
    code, _, err = run(capsys, "rules", "--edition", "1999-01")
    assert code == 2 and "2017-03, 2026-11, current" in err


def test_commerce_and_the_new_facts(capsys: pytest.CaptureFixture[str]) -> None:
    def steps(*argv: str) -> list[str]:
        code, out, err = run(capsys, "assess", "--edition", "current", "--json", *argv)
        assert code == 0, err
        return [s["code"] for s in json.loads(out)["steps"]]

    new = steps("--role", "direct", "--subscription", "csp_partner:license:new")
    assert "create_partner_transfer_request" in new
    legacy = steps("--role", "direct", "--subscription", "csp_partner:license:legacy")
    assert legacy[0] == "wait_for_term_end_or_cancel"
    eligible = steps("--role", "direct", "--subscription", "ea:usage", "--ea-transfer-eligible")
    assert "request_ea_billing_transfer" in eligible
    assert "request_ea_billing_transfer" not in steps(
        "--role", "direct", "--subscription", "ea:usage"
    )
    refused = steps("--role", "direct", "--subscription", "ea:license", "--customer-is-csp-partner")
    assert refused == ["refuse_csp_to_csp"]
    allowed = steps(
        "--role",
        "direct",
        "--subscription",
        "ea:license",
        "--customer-is-csp-partner",
        "--customer-non-csp-tenant",
    )
    assert "refuse_csp_to_csp" not in allowed
    code, _, err = run(
        capsys,
        "assess",
        "--role",
        "direct",
        "--subscription",
        "ea:license",
        "--customer-non-csp-tenant",
    )
    assert code == 2 and "--customer-is-csp-partner" in err


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
        "--edition",
        "2017-03",
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
        "--edition",
        "2017-03",
    )
    assert code == 0
    decision = Decision.model_validate(json.loads(out))
    assert decision.outcome.value == "partial"
    assert decision.step_codes() == [
        "request_relationship",
        "send_invitation_to_customer",
        "wait_for_term_end_or_cancel",
        "provision_after_term_end",
    ]
    assert all(step.citation.text_es for step in decision.steps)


def test_assess_every_source_kind_role(capsys: pytest.CaptureFixture[str]) -> None:
    from policy import Kind, Role, Source

    for edition in ("2017-03", "2026-11"):
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
                        "--edition",
                        edition,
                    )
                    assert code == 0, err
                    assert json.loads(out)["steps"]
                    assert json.loads(out)["policy_edition"] == edition


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["assess", "--role", "boss", "--subscription", "ea:license"], "direct"),
        (["assess", "--role", "direct", "--subscription", "ea:license:nce"], "new, legacy"),
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


@pytest.mark.parametrize("edition", ["2017-03", "2026-11"])
def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str], edition: str) -> None:
    from policy import get_edition

    code, out, _ = run(capsys, "rules", "--edition", edition)
    assert code == 0
    for rule in get_edition(edition).rules:
        assert rule.id in out
        assert rule.location in out
    code, out, _ = run(capsys, "rules", "--json", "--edition", edition)
    assert json.loads(out)["edition"] == edition


def test_invite_links(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "invite-link", "reseller", "--partner-tenant-id", PROVIDER, "--delegated-admin"
    )
    assert code == 0
    assert f"partnerId={PROVIDER}&msppId=0&DAP=true" in out
    code, out, err = run(
        capsys, "invite-link", "reseller", "--partner-tenant-id", PROVIDER, "--delegated-admin"
    )
    # the default edition (current = 2026-11): DAP ended
    assert "edition 2026-11" in err and "since 2023-10-09" in err and "GDAP" in err
    assert "DAP=true" in out
    code, out, err = run(
        capsys,
        "invite-link",
        "reseller",
        "--partner-tenant-id",
        PROVIDER,
        "--delegated-admin",
        "--edition",
        "2017-03",
    )
    assert code == 0 and err == "" and "DAP=true" in out  # the 2017 page's invitation
    code, out, err = run(
        capsys, "invite-link", "reseller", "--partner-tenant-id", PROVIDER, "--edition", "1999"
    )
    assert code == 2 and "Unknown edition '1999'" in err
    code, out, err = run(capsys, "invite-link", "reseller", "--partner-tenant-id", PROVIDER)
    assert err == "" and "DAP=false" in out
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


def test_assess_compare_and_editions_diff(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["assess", "--role", "direct", "--subscription", "csp_partner:license"]
    code, out, _ = run(capsys, *argv, "--edition", "2017-03", "--compare")
    assert code == 0
    assert out.startswith("NOT SUPPORTED:")
    assert "Under edition 2026-11 this answer differs because:" in out
    assert "Rule license-partner-transfer (2026-11)" in out
    assert "Rule no-license-switch (2017-03)" in out
    code, out, _ = run(capsys, *argv, "--edition", "current", "--compare", "--json")
    data = json.loads(out)
    assert data["decision"]["policy_edition"] == "2026-11"
    assert data["other"]["policy_edition"] == "2017-03"
    assert data["outcome_changed"] is True
    code, out, _ = run(capsys, "editions", "diff", "2017-03", "current")
    assert code == 0
    assert "From edition 2017-03 to 2026-11" in out and "Added (" in out and "Removed (" in out
    assert "+ ea-billing-transfer" in out
    code, _, err = run(capsys, "editions", "diff", "2017-03", "2099-01")
    assert code == 2 and "Traceback" not in err
