"""Partner Center settings: webhook authenticity checks and the REST/Graph credentials.

Read from the environment (and an optional `.env` file) by pydantic-settings; unknown variables
are ignored. Every endpoint is configurable so tests can point them at local stand-ins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bot.core.store.secrets import SettingsBase

DEFAULT_CERT_HOST = "3psostorageacct.blob.core.windows.net"
DEFAULT_CERT_SUBJECT = "pcnotifications-dispatch.microsoft.com"
DEFAULT_CERT_ORGANIZATION = "Microsoft Corporation"
DEFAULT_PARTNER_CENTER_API_URL = "https://api.partnercenter.microsoft.com"
DEFAULT_GRAPH_API_URL = "https://graph.microsoft.com"
DEFAULT_AZURE_AD_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
DEFAULT_ENTRA_AUTHORIZE_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"


class PartnerCenterSettings(SettingsBase):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    pc_webhook_cert_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_CERT_HOST],
        description="Comma-separated hosts allowed in X-MS-Certificate-Url (exact match). "
        "An entry without a port allows only the default https port; 'host:port' allows that "
        "port.",
    )
    pc_webhook_trust_roots: Path | None = Field(
        default=None,
        description="PEM bundle of root certificates the webhook signing certificate must chain "
        "to. Default: the system trust store (certifi's bundle when the system has none).",
    )
    pc_webhook_intermediates: Path | None = Field(
        default=None,
        description="Optional PEM bundle of intermediate CA certificates used to build the "
        "signing certificate's chain (the certificate URL serves only the leaf).",
    )
    pc_webhook_cert_subject: str = Field(
        default=DEFAULT_CERT_SUBJECT,
        description="DNS name the signing certificate must carry (subject alternative name).",
    )
    pc_webhook_cert_organization: str = Field(
        default=DEFAULT_CERT_ORGANIZATION,
        description="Organization (O=) the signing certificate's subject must carry.",
    )
    pc_webhook_max_body: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest webhook body accepted, in bytes.",
    )
    pc_webhook_max_cert_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest signing certificate download accepted, in bytes.",
    )
    pc_webhook_cert_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Timeout for downloading the signing certificate, in seconds.",
    )
    pc_webhook_cert_cache_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How long a verified signing certificate is reused, per URL, in seconds.",
    )
    pc_webhook_cert_cache_size: int = Field(
        default=16,
        gt=0,
        description="Most certificate URLs kept in the cache (least recently used evicted).",
    )
    public_base_url: str | None = Field(
        default=None,
        description="The https origin where Partner Center and browsers reach this bot, e.g. "
        "https://bot.example.com: each organization's webhook URL is "
        "{PUBLIC_BASE_URL}/partner-center/webhooks/{its token} (`mcbot webhook show --org "
        "KEY`), and Connect Partner Center's redirect URI is "
        "{PUBLIC_BASE_URL}/partner-center/connect/callback.",
    )
    partner_center_api_url: str = Field(
        default=DEFAULT_PARTNER_CENTER_API_URL,
        description="Partner Center REST API base URL.",
    )
    graph_api_url: str = Field(
        default=DEFAULT_GRAPH_API_URL,
        description="Microsoft Graph base URL (GDAP relationships).",
    )
    azure_ad_token_url: str = Field(
        default=DEFAULT_AZURE_AD_TOKEN_URL,
        description="Microsoft Entra ID token endpoint; '{tenant}' is replaced by the tenant "
        "of the organization whose token it is (PARTNER_TENANT_ID for the legacy settings).",
    )
    entra_authorize_url: str = Field(
        default=DEFAULT_ENTRA_AUTHORIZE_URL,
        description='Microsoft Entra ID authorize endpoint of the "Connect Partner Center" '
        "flow (docs/partner-center-connection.md); '{tenant}' is replaced by the "
        "organization's tenant id. The browser comes back to "
        "{PUBLIC_BASE_URL}/partner-center/connect/callback, the redirect URI to register on "
        "the app registration.",
    )
    partner_center_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Timeout for Partner Center, Graph and token calls, in seconds.",
    )
    partner_tenant_id: str | None = Field(
        default=None,
        description="The partner's Microsoft Entra tenant id (GUID).",
    )
    partner_center_client_id: str | None = Field(
        default=None,
        description="Application (client) id of the deployment's Entra app registration "
        "(multi-tenant: every organization connects with it unless it configured its own, "
        "`mcbot partners connection-app`).",
    )
    partner_center_client_secret: SecretStr | None = Field(
        default=None,
        description="Client secret of that app registration.",
    )
    partner_center_refresh_token: SecretStr | None = Field(
        default=None,
        description="Refresh token of a partner admin (app+user consent): Partner Center's "
        "relationship-request call refuses app-only tokens.",
    )

    @field_validator("pc_webhook_cert_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return [str(part).strip().lower() for part in value if str(part).strip()]
        return value

    @property
    def configured(self) -> bool:
        """All credentials needed for Partner Center and Graph calls are present."""
        return all(
            (
                self.partner_tenant_id,
                self.partner_center_client_id,
                self.partner_center_client_secret
                and self.partner_center_client_secret.get_secret_value(),
                self.partner_center_refresh_token
                and self.partner_center_refresh_token.get_secret_value(),
            )
        )

    def token_url(self, tenant: str | None = None) -> str:
        """The token endpoint with `tenant` (default: the legacy partner tenant) filled in."""
        return self.azure_ad_token_url.replace(
            "{tenant}", tenant or self.partner_tenant_id or "common"
        )

    def authorize_url(self, tenant: str) -> str:
        return self.entra_authorize_url.replace("{tenant}", tenant)
