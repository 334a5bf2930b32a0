"""The webhook signing certificate: where it may come from, how it is fetched, what it must be.

The URL comes from the request, so it is attacker-controlled until proven otherwise: only https
on an allow-listed host, no userinfo, no redirects, a size cap and a timeout. The certificate
must chain to the trust roots, be within its validity period, name the configured DNS subject
and organization, and carry an RSA key. A verified certificate is cached per URL (bounded LRU).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.core.partner_center.rejections import RejectReason, WebhookRejected
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.trust import TrustStoreError, load_intermediates, load_trust_roots

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # cryptography (~8 MB with OpenSSL) is imported at the first webhook
    import httpx
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.verification import Store

MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class _CacheEntry:
    public_key: rsa.RSAPublicKey
    expires_at: float


def _allowed_host_ports(entries: list[str]) -> frozenset[tuple[str, int | None]]:
    allowed: set[tuple[str, int | None]] = set()
    for entry in entries:
        text = entry.strip().lower()
        host, sep, port = text.rpartition(":")
        if sep and port.isdigit() and (":" not in host or host.endswith("]")):
            allowed.add((host.strip("[]"), None if int(port) == 443 else int(port)))
        else:
            allowed.add((text.strip("[]"), None))
    return frozenset(allowed)


def check_certificate_url(url: str, allowed: frozenset[tuple[str, int | None]]) -> httpx.URL:
    """The parsed URL if it may be fetched; the same parsed object is then fetched, so the
    check and the request cannot disagree about the host."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookRejected(RejectReason.CERTIFICATE_URL_INVALID, str(exc)) from exc
    if parsed.scheme != "https":
        raise WebhookRejected(RejectReason.CERTIFICATE_URL_NOT_HTTPS, parsed.scheme)
    if not parsed.is_absolute_url or not parsed.raw_host:
        raise WebhookRejected(RejectReason.CERTIFICATE_URL_INVALID, "no host")
    if parsed.userinfo:
        raise WebhookRejected(RejectReason.CERTIFICATE_URL_HAS_USERINFO)
    host = parsed.raw_host.decode("ascii").lower()
    if (host, parsed.port) not in allowed:
        shown = host if parsed.port is None else f"{host}:{parsed.port}"
        raise WebhookRejected(RejectReason.CERTIFICATE_HOST_NOT_ALLOWED, shown)
    return parsed


def parse_certificate(data: bytes) -> x509.Certificate:
    """A DER or PEM certificate."""
    from cryptography import x509

    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise WebhookRejected(RejectReason.CERTIFICATE_UNPARSEABLE, str(exc)) from exc


class SigningCertificates:
    """Fetches, validates and caches signing certificates; hands out their public keys."""

    def __init__(
        self,
        settings: PartnerCenterSettings,
        http: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._http = http  # or a function that gives it at the first fetch
        self._clock = clock
        self._allowed = _allowed_host_ports(settings.pc_webhook_cert_hosts)
        self._trust: tuple[Store, list[x509.Certificate]] | None = None  # see _trusted()
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        self._fetch_lock = asyncio.Lock()
        self.fetches = 0

    async def public_key(self, url: str) -> rsa.RSAPublicKey:
        # Cached by the URL as the header spells it: only a URL that passed the check below
        # (and whose certificate was then fetched and validated) is ever cached, so a delivery
        # naming one again skips parsing it (some 0.1 ms of CPU per delivery).
        cache_key = url
        cached = self._cached(cache_key)
        if cached is not None:
            return cached
        parsed = check_certificate_url(url, self._allowed)
        async with self._fetch_lock:  # one download per URL even under concurrent deliveries
            cached = self._cached(cache_key)
            if cached is not None:
                return cached
            data = await self._download(parsed)
            now = self._clock()
            certificate = parse_certificate(data)
            key = self._validate(certificate, now)
            not_after = certificate.not_valid_after_utc.timestamp()
            expires_at = min(now + self._settings.pc_webhook_cert_cache_seconds, not_after)
            self._remember(cache_key, _CacheEntry(key, expires_at))
            return key

    def _cached(self, cache_key: str) -> rsa.RSAPublicKey | None:
        entry = self._cache.get(cache_key)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            del self._cache[cache_key]
            return None
        self._cache.move_to_end(cache_key)
        return entry.public_key

    def _remember(self, cache_key: str, entry: _CacheEntry) -> None:
        if self._settings.pc_webhook_cert_cache_seconds <= 0:
            return
        self._cache[cache_key] = entry
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self._settings.pc_webhook_cert_cache_size:
            self._cache.popitem(last=False)

    async def _download(self, url: httpx.URL) -> bytes:
        import httpx

        limit = self._settings.pc_webhook_max_cert_bytes
        timeout = self._settings.pc_webhook_cert_timeout
        self.fetches += 1
        try:
            async with asyncio.timeout(timeout):
                if not isinstance(self._http, httpx.AsyncClient):
                    self._http = self._http()
                async with self._http.stream(
                    "GET", url, follow_redirects=False, timeout=timeout
                ) as response:
                    if 300 <= response.status_code < 400:
                        raise WebhookRejected(
                            RejectReason.CERTIFICATE_REDIRECT, str(response.status_code)
                        )
                    if response.status_code != 200:
                        raise WebhookRejected(
                            RejectReason.CERTIFICATE_FETCH_FAILED, f"HTTP {response.status_code}"
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise WebhookRejected(RejectReason.CERTIFICATE_TOO_LARGE, declared)
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise WebhookRejected(RejectReason.CERTIFICATE_TOO_LARGE, f">{limit}")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except TimeoutError as exc:
            raise WebhookRejected(RejectReason.CERTIFICATE_FETCH_FAILED, "timeout") from exc
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}"
            raise WebhookRejected(RejectReason.CERTIFICATE_FETCH_FAILED, detail) from exc

    def _trusted(self) -> tuple[Store, list[x509.Certificate]]:
        """The trust roots and intermediates, loaded at the first certificate to check (not at
        start-up: cryptography and the system's CA bundle cost ~10 MB and ~0.1 s of CPU). A
        bundle that cannot be used is our failure: refused as a fetch failure (503, Partner
        Center retries) and logged, until it is fixed."""
        if self._trust is None:
            from cryptography.x509.verification import Store

            try:
                roots = load_trust_roots(self._settings.pc_webhook_trust_roots)
                intermediates = load_intermediates(self._settings.pc_webhook_intermediates)
            except TrustStoreError as exc:
                log.error("webhook signing certificates cannot be checked: %s", exc)
                raise WebhookRejected(
                    RejectReason.CERTIFICATE_FETCH_FAILED, f"trust store: {exc}"
                ) from exc
            self._trust = (Store(roots), intermediates)
        return self._trust

    def _validate(self, certificate: x509.Certificate, now: float) -> rsa.RSAPublicKey:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        moment = datetime.fromtimestamp(now, UTC)
        if moment < certificate.not_valid_before_utc:
            raise WebhookRejected(
                RejectReason.CERTIFICATE_NOT_YET_VALID, certificate.not_valid_before_utc.isoformat()
            )
        if moment > certificate.not_valid_after_utc:
            raise WebhookRejected(
                RejectReason.CERTIFICATE_EXPIRED, certificate.not_valid_after_utc.isoformat()
            )
        subject = self._settings.pc_webhook_cert_subject.lower()
        if subject not in _dns_names(certificate):
            raise WebhookRejected(
                RejectReason.CERTIFICATE_WRONG_SUBJECT, certificate.subject.rfc4514_string()
            )
        organizations = [
            attribute.value
            for attribute in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        ]
        if organizations != [self._settings.pc_webhook_cert_organization]:
            raise WebhookRejected(RejectReason.CERTIFICATE_WRONG_ORGANIZATION, repr(organizations))
        self._verify_chain(certificate, moment, subject)
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            raise WebhookRejected(RejectReason.CERTIFICATE_BAD_KEY, type(key).__name__)
        return key

    def _verify_chain(self, certificate: x509.Certificate, moment: datetime, subject: str) -> None:
        # The certificate signs webhook bodies, it does not serve TLS: its extended key usage is
        # not required to say serverAuth. Every other web-PKI rule applies.
        from cryptography import x509
        from cryptography.x509.verification import (
            Criticality,
            ExtensionPolicy,
            PolicyBuilder,
            VerificationError,
        )

        store, intermediates = self._trusted()
        ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
        )
        verifier = (
            PolicyBuilder()
            .store(store)
            .time(moment)
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
            .build_server_verifier(x509.DNSName(subject))
        )
        try:
            verifier.verify(certificate, intermediates)
        except VerificationError as exc:
            raise WebhookRejected(RejectReason.CERTIFICATE_UNTRUSTED, str(exc)) from exc


def _dns_names(certificate: x509.Certificate) -> set[str]:
    from cryptography import x509

    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    return {name.lower() for name in extension.value.get_values_for_type(x509.DNSName)}
