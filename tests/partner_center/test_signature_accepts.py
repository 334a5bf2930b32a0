from __future__ import annotations

import asyncio

from bot.core.partner_center.signature import WebhookVerifier
from bot.testkit.partner_center import CertRoute, WebhookSigner

BODY = (
    b'{"EventName": "reseller-relationship-accepted-by-customer",\r\n'
    b' "ResourceUri": "https://api.partnercenter.microsoft.com/v1/customers/'
    b'4b2a6e33-8791-4386-bd2b-0d55baf25039", "ResourceName": "Customer", "AuditUri": null,'
    b' "ResourceChangeUtcDate": "2023-10-18T00:26:24.0159088+00:00"}  '
)


async def test_authorization_header_style(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    await verifier.verify(signer.headers(BODY), BODY)


async def test_x_ms_signature_header_style(
    signer: WebhookSigner, verifier: WebhookVerifier
) -> None:
    headers = signer.headers(BODY, style="x-ms-signature")
    assert "Authorization" not in headers
    await verifier.verify(headers, BODY)


async def test_header_names_are_case_insensitive(
    signer: WebhookSigner, verifier: WebhookVerifier
) -> None:
    upper = {name.upper(): value for name, value in signer.headers(BODY).items()}
    lower = {name.lower(): value for name, value in signer.headers(BODY).items()}
    await verifier.verify(upper, BODY)
    await verifier.verify(lower, BODY)


async def test_pem_certificate_is_accepted(
    signer: WebhookSigner, verifier: WebhookVerifier
) -> None:
    await verifier.verify(signer.headers(BODY, route=CertRoute.PEM), BODY)


async def test_signature_is_over_raw_bytes_including_non_utf8(
    signer: WebhookSigner, verifier: WebhookVerifier
) -> None:
    body = b"\xff\xfe not json at all \x00"
    await verifier.verify(signer.headers(body), body)


async def test_concurrent_deliveries(signer: WebhookSigner, verifier: WebhookVerifier) -> None:
    bodies = [BODY + str(number).encode() for number in range(20)]
    await asyncio.gather(*(verifier.verify(signer.headers(body), body) for body in bodies))


async def test_verifier_owns_and_closes_its_default_client(signer: WebhookSigner) -> None:
    from bot.core.partner_center.settings import PartnerCenterSettings

    settings = PartnerCenterSettings(_env_file=None, **signer.settings_overrides())
    async with WebhookVerifier(settings) as verifier:
        assert verifier.certificates.fetches == 0
