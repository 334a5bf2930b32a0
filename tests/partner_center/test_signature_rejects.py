from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from bot.core.partner_center.rejections import RejectReason, WebhookRejected
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.signature import WebhookVerifier
from bot.testkit.partner_center import CertRoute, CertVariant, WebhookSigner

BODY = b'{"EventName": "test-created", "ResourceChangeUtcDate": "2023-10-18T00:26:24+00:00"}'


async def _rejected(
    verifier: WebhookVerifier, headers: dict[str, str], body: bytes = BODY
) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        await verifier.verify(headers, body)
    return caught.value


async def test_wrong_key(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    headers = signer.headers(BODY, key=signer.pki.stranger_key)
    assert (await _rejected(verifier, headers)).reason is RejectReason.BAD_SIGNATURE


async def test_tampered_body(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    headers = signer.headers(BODY)
    tampered = BODY.replace(b"test-created", b"test-createD")
    assert (await _rejected(verifier, headers, tampered)).reason is RejectReason.BAD_SIGNATURE


async def test_signature_of_another_body(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    headers = signer.headers(BODY + b" ")
    assert (await _rejected(verifier, headers)).reason is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        (CertVariant.UNTRUSTED, RejectReason.CERTIFICATE_UNTRUSTED),
        (CertVariant.WRONG_ORGANIZATION, RejectReason.CERTIFICATE_WRONG_ORGANIZATION),
        (CertVariant.EXPIRED, RejectReason.CERTIFICATE_EXPIRED),
        (CertVariant.NOT_YET_VALID, RejectReason.CERTIFICATE_NOT_YET_VALID),
        (CertVariant.WRONG_SUBJECT, RejectReason.CERTIFICATE_WRONG_SUBJECT),
        (CertVariant.EC_KEY, RejectReason.CERTIFICATE_BAD_KEY),
    ],
)
async def test_bad_certificates(
    signer: WebhookSigner, verifier: WebhookVerifier, variant: CertVariant, reason: RejectReason
) -> None:
    """Each body is correctly signed by the key of the certificate it points at: only the
    certificate itself is wrong."""
    rejection = await _rejected(verifier, signer.headers(BODY, variant=variant))
    assert rejection.reason is reason
    assert rejection.http_status == 401


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (CertRoute.REDIRECT, RejectReason.CERTIFICATE_REDIRECT),
        (CertRoute.MISSING, RejectReason.CERTIFICATE_FETCH_FAILED),
        (CertRoute.HUGE, RejectReason.CERTIFICATE_TOO_LARGE),
        (CertRoute.HUGE_UNDECLARED, RejectReason.CERTIFICATE_TOO_LARGE),
        (CertRoute.GARBAGE, RejectReason.CERTIFICATE_UNPARSEABLE),
    ],
)
async def test_bad_certificate_downloads(
    signer: WebhookSigner, verifier: WebhookVerifier, route: CertRoute, reason: RejectReason
) -> None:
    assert (await _rejected(verifier, signer.headers(BODY, route=route))).reason is reason


async def test_redirect_is_not_followed(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    before = signer.fetch_count(CertVariant.GOOD)
    await _rejected(verifier, signer.headers(BODY, route=CertRoute.REDIRECT))
    assert signer.fetch_count(CertVariant.GOOD) == before


async def test_slow_certificate_host_times_out(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    settings = PartnerCenterSettings(
        _env_file=None, pc_webhook_cert_timeout=0.3, **signer.settings_overrides()
    )
    verifier = WebhookVerifier(settings, http=cert_http)
    rejection = await _rejected(verifier, signer.headers(BODY, route=CertRoute.SLOW))
    assert rejection.reason is RejectReason.CERTIFICATE_FETCH_FAILED
    assert rejection.transient and rejection.http_status == 503


async def test_missing_intermediates_make_the_chain_untrusted(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    overrides = signer.settings_overrides() | {"pc_webhook_intermediates": None}
    verifier = WebhookVerifier(PartnerCenterSettings(_env_file=None, **overrides), http=cert_http)
    rejection = await _rejected(verifier, signer.headers(BODY))
    assert rejection.reason is RejectReason.CERTIFICATE_UNTRUSTED


async def test_system_trust_store_does_not_trust_the_test_root(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    overrides = signer.settings_overrides() | {"pc_webhook_trust_roots": None}
    verifier = WebhookVerifier(PartnerCenterSettings(_env_file=None, **overrides), http=cert_http)
    rejection = await _rejected(verifier, signer.headers(BODY))
    assert rejection.reason is RejectReason.CERTIFICATE_UNTRUSTED


def _with(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    updated = dict(headers)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Authorization": None}, RejectReason.MISSING_SIGNATURE),
        ({"Authorization": "Bearer abc"}, RejectReason.MISSING_SIGNATURE),
        ({"Authorization": "Signature "}, RejectReason.MISSING_SIGNATURE),
        ({"Authorization": "Signature not*base64!"}, RejectReason.BAD_SIGNATURE_ENCODING),
        ({"X-MS-Signature-Algorithm": None}, RejectReason.MISSING_ALGORITHM),
        ({"X-MS-Signature-Algorithm": "rsa-sha1"}, RejectReason.BAD_ALGORITHM),
        ({"X-MS-Signature-Algorithm": "hmac-sha256"}, RejectReason.BAD_ALGORITHM),
        ({"X-MS-Certificate-Url": None}, RejectReason.MISSING_CERTIFICATE_URL),
        ({"X-MS-Certificate-Url": "  "}, RejectReason.MISSING_CERTIFICATE_URL),
    ],
)
async def test_header_problems(
    signer: WebhookSigner,
    verifier: WebhookVerifier,
    changes: dict[str, Any],
    reason: RejectReason,
) -> None:
    headers = signer.headers(BODY)
    for name, value in changes.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    assert (await _rejected(verifier, headers)).reason is reason
    assert verifier.certificates.fetches == 0


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("http://127.0.0.1:{port}/cert/x.cer", RejectReason.CERTIFICATE_URL_NOT_HTTPS),
        ("ftp://127.0.0.1:{port}/cert/x.cer", RejectReason.CERTIFICATE_URL_NOT_HTTPS),
        ("https://evil.example.com/cert/x.cer", RejectReason.CERTIFICATE_HOST_NOT_ALLOWED),
        ("https://127.0.0.1/cert/x.cer", RejectReason.CERTIFICATE_HOST_NOT_ALLOWED),
        ("https://127.0.0.1:1{port}/cert/x.cer", RejectReason.CERTIFICATE_HOST_NOT_ALLOWED),
        ("https://localhost:{port}/cert/x.cer", RejectReason.CERTIFICATE_HOST_NOT_ALLOWED),
        (
            "https://127.0.0.1:{port}.evil.example.com/cert/x.cer",
            RejectReason.CERTIFICATE_URL_INVALID,
        ),
        (
            "https://evil.example.com\\@127.0.0.1:{port}/x",
            RejectReason.CERTIFICATE_URL_HAS_USERINFO,
        ),
        ("https://user:pw@127.0.0.1:{port}/cert/x.cer", RejectReason.CERTIFICATE_URL_HAS_USERINFO),
        ("/cert/x.cer", RejectReason.CERTIFICATE_URL_NOT_HTTPS),
        ("https:///cert/x.cer", RejectReason.CERTIFICATE_URL_INVALID),
    ],
)
async def test_certificate_url_problems(
    signer: WebhookSigner, verifier: WebhookVerifier, template: str, reason: RejectReason
) -> None:
    headers = signer.headers(BODY)
    headers["X-MS-Certificate-Url"] = template.format(port=signer.port)
    assert (await _rejected(verifier, headers)).reason is reason
    assert verifier.certificates.fetches == 0


async def test_default_host_only_on_default_port(
    cert_http: httpx.AsyncClient, signer: WebhookSigner
) -> None:
    settings = PartnerCenterSettings(_env_file=None, pc_webhook_trust_roots=signer.trust_roots_path)
    verifier = WebhookVerifier(settings, http=cert_http)
    headers = signer.headers(BODY)
    headers["X-MS-Certificate-Url"] = (
        "https://3psostorageacct.blob.core.windows.net:8443/cert/x.cer"
    )
    assert (await _rejected(verifier, headers)).reason is RejectReason.CERTIFICATE_HOST_NOT_ALLOWED
    headers["X-MS-Certificate-Url"] = "https://3psostorageacct.blob.core.windows.net.evil.com/c"
    assert (await _rejected(verifier, headers)).reason is RejectReason.CERTIFICATE_HOST_NOT_ALLOWED


async def test_oversized_body_is_refused_before_any_fetch(
    signer: WebhookSigner, verifier: WebhookVerifier, webhook_settings: PartnerCenterSettings
) -> None:
    body = b" " * (webhook_settings.pc_webhook_max_body + 1)
    rejection = await _rejected(verifier, signer.headers(body), body)
    assert rejection.reason is RejectReason.BODY_TOO_LARGE
    assert rejection.http_status == 413
    assert verifier.certificates.fetches == 0


async def test_body_at_the_limit_is_accepted(
    signer: WebhookSigner, verifier: WebhookVerifier, webhook_settings: PartnerCenterSettings
) -> None:
    body = b" " * webhook_settings.pc_webhook_max_body
    await verifier.verify(signer.headers(body), body)


async def test_truncated_signature(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    headers = signer.headers(BODY)
    raw = base64.b64decode(headers["Authorization"].removeprefix("Signature "))
    headers["Authorization"] = "Signature " + base64.b64encode(raw[:-1]).decode()
    assert (await _rejected(verifier, headers)).reason is RejectReason.BAD_SIGNATURE
