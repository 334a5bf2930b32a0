from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from bot.core.partner_center import certificates
from bot.core.partner_center.rejections import RejectReason, WebhookRejected
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.signature import WebhookVerifier
from bot.testkit.partner_center import CertRoute, CertVariant, WebhookSigner

BODY = b'{"EventName": "granular-admin-relationship-approved"}'


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _verifier(
    signer: WebhookSigner, http: httpx.AsyncClient, clock: Clock | None = None, **overrides: object
) -> WebhookVerifier:
    settings = PartnerCenterSettings(_env_file=None, **(signer.settings_overrides() | overrides))
    return WebhookVerifier(settings, http=http, clock=clock or time.time)


async def test_fetched_once_for_many_deliveries(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    verifier = _verifier(signer, cert_http)
    before = signer.fetch_count()
    for number in range(25):
        body = BODY + str(number).encode()
        await verifier.verify(signer.headers(body), body)
    assert signer.fetch_count() - before == 1
    assert verifier.certificates.fetches == 1


async def test_fetched_once_for_concurrent_deliveries(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    verifier = _verifier(signer, cert_http)
    before = signer.fetch_count()
    bodies = [BODY + str(number).encode() for number in range(25)]
    await asyncio.gather(*(verifier.verify(signer.headers(body), body) for body in bodies))
    assert signer.fetch_count() - before == 1


async def test_refetched_after_cache_lifetime(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = _verifier(signer, cert_http, clock, pc_webhook_cert_cache_seconds=60)
    await verifier.verify(signer.headers(BODY), BODY)
    clock.now += 59
    await verifier.verify(signer.headers(BODY), BODY)
    assert verifier.certificates.fetches == 1
    clock.now += 2
    await verifier.verify(signer.headers(BODY), BODY)
    assert verifier.certificates.fetches == 2


async def test_cache_never_outlives_the_certificate(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = _verifier(signer, cert_http, clock, pc_webhook_cert_cache_seconds=10**9)
    await verifier.verify(signer.headers(BODY), BODY)
    not_after = signer.pki.leaves[CertVariant.GOOD].certificate.not_valid_after_utc
    clock.now = not_after.timestamp() + 1
    with pytest.raises(WebhookRejected) as caught:
        await verifier.verify(signer.headers(BODY), BODY)
    assert caught.value.reason is RejectReason.CERTIFICATE_EXPIRED


async def test_cache_is_bounded(signer: WebhookSigner, cert_http: httpx.AsyncClient) -> None:
    verifier = _verifier(signer, cert_http, pc_webhook_cert_cache_size=1)
    for route in (CertVariant.GOOD, CertRoute.PEM, CertVariant.GOOD):
        await verifier.verify(signer.headers(BODY, route=route), BODY)
    assert verifier.certificates.fetches == 3


async def test_least_recently_used_is_evicted(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    verifier = _verifier(signer, cert_http, pc_webhook_cert_cache_size=2)
    for route in (CertVariant.GOOD, CertRoute.PEM, CertVariant.GOOD, CertRoute.PEM):
        await verifier.verify(signer.headers(BODY, route=route), BODY)
    assert verifier.certificates.fetches == 2


async def test_failures_are_not_cached(signer: WebhookSigner, cert_http: httpx.AsyncClient) -> None:
    verifier = _verifier(signer, cert_http)
    before = signer.fetch_count(CertVariant.UNTRUSTED)
    for _ in range(3):
        with pytest.raises(WebhookRejected):
            await verifier.verify(signer.headers(BODY, variant=CertVariant.UNTRUSTED), BODY)
    assert signer.fetch_count(CertVariant.UNTRUSTED) - before == 3


async def test_bad_signatures_reuse_the_cached_certificate(
    signer: WebhookSigner, cert_http: httpx.AsyncClient
) -> None:
    verifier = _verifier(signer, cert_http)
    await verifier.verify(signer.headers(BODY), BODY)
    for _ in range(5):
        with pytest.raises(WebhookRejected) as caught:
            await verifier.verify(signer.headers(BODY, key=signer.pki.stranger_key), BODY)
        assert caught.value.reason is RejectReason.BAD_SIGNATURE
    assert verifier.certificates.fetches == 1


async def test_a_cached_url_is_not_parsed_again(
    signer: WebhookSigner, cert_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is keyed by the URL as sent: the check runs until the URL's certificate is
    cached, then not again for it; a URL the check refuses is refused every time."""
    checked: list[str] = []
    check = certificates.check_certificate_url

    def counting(url: str, allowed: Any) -> Any:
        checked.append(url)
        return check(url, allowed)

    monkeypatch.setattr(certificates, "check_certificate_url", counting)
    verifier = _verifier(signer, cert_http)
    for number in range(5):
        body = BODY + str(number).encode()
        await verifier.verify(signer.headers(body), body)
    assert len(checked) == 1 and verifier.certificates.fetches == 1
    refused = "http://" + checked[0].removeprefix("https://")
    for _ in range(2):
        with pytest.raises(WebhookRejected):
            await verifier.certificates.public_key(refused)
    assert checked[1:] == [refused, refused]
