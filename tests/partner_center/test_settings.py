from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.partner_center.settings import PartnerCenterSettings


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PartnerCenterSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_match_microsoft(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    settings = PartnerCenterSettings(_env_file=None)
    assert settings.pc_webhook_cert_hosts == ["3psostorageacct.blob.core.windows.net"]
    assert settings.pc_webhook_trust_roots is None
    assert settings.pc_webhook_cert_organization == "Microsoft Corporation"
    assert settings.pc_webhook_max_body == 65536
    assert settings.pc_webhook_cert_timeout == 5
    assert settings.pc_webhook_cert_cache_seconds == 3600
    assert settings.partner_center_api_url == "https://api.partnercenter.microsoft.com"
    assert settings.graph_api_url == "https://graph.microsoft.com"
    assert settings.configured is False


def test_every_field_is_described() -> None:
    undocumented = [
        name for name, info in PartnerCenterSettings.model_fields.items() if not info.description
    ]
    assert undocumented == []


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("PC_WEBHOOK_CERT_HOSTS", "A.example.com, 127.0.0.1:8443 ,")
    monkeypatch.setenv("PC_WEBHOOK_TRUST_ROOTS", str(tmp_path / "roots.pem"))
    monkeypatch.setenv("PARTNER_TENANT_ID", "tenant-guid")
    monkeypatch.setenv("PARTNER_CENTER_CLIENT_ID", "client")
    monkeypatch.setenv("PARTNER_CENTER_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.setenv("PARTNER_CENTER_REFRESH_TOKEN", "refresh")
    settings = PartnerCenterSettings(_env_file=None)
    assert settings.pc_webhook_cert_hosts == ["a.example.com", "127.0.0.1:8443"]
    assert settings.pc_webhook_trust_roots == tmp_path / "roots.pem"
    assert settings.configured is True
    assert "s3cr3t-value" not in repr(settings)
    assert settings.token_url() == (
        "https://login.microsoftonline.com/tenant-guid/oauth2/v2.0/token"
    )


def test_empty_secret_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    settings = PartnerCenterSettings(
        _env_file=None,
        partner_tenant_id="t",
        partner_center_client_id="c",
        partner_center_client_secret="s",
        partner_center_refresh_token="",
    )
    assert settings.configured is False
