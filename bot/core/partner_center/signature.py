"""Is this webhook delivery really from Partner Center?

Microsoft's scheme: `Authorization: Signature <base64>` (or `x-ms-signature: <base64>` after
opt-in), `X-MS-Certificate-Url` pointing at the signing certificate, and
`X-MS-Signature-Algorithm: rsa-sha256`. The signature is RSA PKCS#1 v1.5 with SHA-256 over the
raw body bytes. Nothing reads the body before `verify` returns.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from bot.core.partner_center.certificates import SigningCertificates
from bot.core.partner_center.rejections import RejectReason, WebhookRejected
from bot.core.partner_center.settings import PartnerCenterSettings

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

__all__ = ["RejectReason", "WebhookRejected", "WebhookVerifier"]

SIGNATURE_ALGORITHM = "rsa-sha256"
_AUTHORIZATION_SCHEME = "signature"


class WebhookVerifier:
    """Verifies Partner Center webhook deliveries; raises `WebhookRejected` with a reason.

    `http` fetches the signing certificate. Give it a client of its own (no default auth
    headers or cookies: it talks to a host named by the request). When omitted, the verifier
    creates one trusting the system store and closes it in `aclose`.
    """

    def __init__(
        self,
        settings: PartnerCenterSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._http = http
        self._owned: httpx.AsyncClient | None = None  # created at the first certificate fetch
        self.certificates = SigningCertificates(
            settings, http if http is not None else self._own_client, clock=clock
        )

    def _own_client(self) -> httpx.AsyncClient:
        """Its own client, made when first needed (its TLS context loads the CA bundle: ~0.1 s
        of CPU that start-up no longer spends)."""
        import httpx

        self._owned = httpx.AsyncClient(follow_redirects=False)
        return self._owned

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        if len(body) > self._settings.pc_webhook_max_body:
            raise WebhookRejected(RejectReason.BODY_TOO_LARGE, str(len(body)))
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = _signature(lowered)
        algorithm = lowered.get("x-ms-signature-algorithm", "").strip()
        if not algorithm:
            raise WebhookRejected(RejectReason.MISSING_ALGORITHM)
        if algorithm.lower() != SIGNATURE_ALGORITHM:
            raise WebhookRejected(RejectReason.BAD_ALGORITHM, algorithm[:40])
        url = lowered.get("x-ms-certificate-url", "").strip()
        if not url:
            raise WebhookRejected(RejectReason.MISSING_CERTIFICATE_URL)
        key = await self.certificates.public_key(url)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise WebhookRejected(RejectReason.BAD_SIGNATURE) from exc

    async def aclose(self) -> None:
        if self._owned is not None:
            await self._owned.aclose()

    async def __aenter__(self) -> WebhookVerifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _signature(lowered: Mapping[str, str]) -> bytes:
    """The decoded signature from `x-ms-signature`, else from `Authorization: Signature ...`."""
    encoded = lowered.get("x-ms-signature", "").strip()
    if not encoded:
        scheme, _, value = lowered.get("authorization", "").strip().partition(" ")
        if scheme.lower() == _AUTHORIZATION_SCHEME:
            encoded = value.strip()
    if not encoded:
        raise WebhookRejected(RejectReason.MISSING_SIGNATURE)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected(RejectReason.BAD_SIGNATURE_ENCODING) from exc
