"""Sign webhook deliveries the way Partner Center does, against a local certificate host.

    signer = WebhookSigner()                       # starts https://127.0.0.1:PORT
    settings = PartnerCenterSettings(**signer.settings_overrides())
    verifier = WebhookVerifier(settings, http=signer.http_client())
    await verifier.verify(signer.headers(body), body)

The PKI (test root → issuing CA → signing certificate) is generated once per process. The server
serves the good certificate at `/cert/pcnotifications-dispatch.microsoft.com.cer` (DER), the same
in PEM, each broken variant, a redirect, a 404, an oversized file and a slow answer.
For tests and benchmarks only.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import tempfile
import threading
import time
from collections import Counter
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.testkit.pki import SIGNING_SUBJECT, CertVariant, Issued, stand_in_pki

__all__ = ["CertRoute", "CertVariant", "WebhookSigner"]

CERT_FILE = f"{SIGNING_SUBJECT}.cer"
SLOW_SECONDS = 3.0
HUGE_BYTES = 256 * 1024


class CertRoute(StrEnum):
    """Server behaviours that are not a certificate variant."""

    PEM = "pem"  # the good certificate, PEM-encoded
    REDIRECT = "redirect"  # 302 to the good certificate
    MISSING = "missing"  # 404
    HUGE = "huge"  # an oversized body, with its Content-Length
    HUGE_UNDECLARED = "huge-undeclared"  # an oversized body without Content-Length
    SLOW = "slow"  # answers after SLOW_SECONDS
    GARBAGE = "garbage"  # 200 with bytes that are no certificate


def _pem(issued: Issued) -> bytes:
    return issued.certificate.public_bytes(serialization.Encoding.PEM)


class WebhookSigner:
    _shared: ClassVar[WebhookSigner | None] = None

    def __init__(self) -> None:
        self.pki = stand_in_pki()
        self._dir = Path(tempfile.mkdtemp(prefix="pc-testkit-"))
        self.trust_roots_path = self._write("roots.pem", _pem(self.pki.root))
        self.intermediates_path = self._write("intermediates.pem", _pem(self.pki.intermediate))
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.socket = self._server_tls().wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> WebhookSigner:
        """One signer for the whole process (benchmarks, session fixtures)."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    # -- what a test needs -------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def certificate_url(self, route: CertVariant | CertRoute = CertVariant.GOOD) -> str:
        return self.origin + self.path_for(route)

    @staticmethod
    def path_for(route: CertVariant | CertRoute) -> str:
        if route is CertVariant.GOOD:
            return f"/cert/{CERT_FILE}"
        return f"/cert/{route.value}/{CERT_FILE}"

    def sign(self, body: bytes, variant: CertVariant = CertVariant.GOOD) -> bytes:
        key = self.pki.leaves[variant].key
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError(f"{variant} has no RSA key: pass key=")
        return key.sign(body, padding.PKCS1v15(), hashes.SHA256())

    def headers(
        self,
        body: bytes,
        *,
        variant: CertVariant = CertVariant.GOOD,
        route: CertVariant | CertRoute | None = None,
        style: str = "authorization",
        key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        """The three headers Partner Center sends. `style="x-ms-signature"` uses the opt-in
        header; `route` picks the certificate URL (defaults to the variant's); `key` signs with
        another key (e.g. `pki.stranger_key`)."""
        signer_key = key
        if signer_key is None and not isinstance(self.pki.leaves[variant].key, rsa.RSAPrivateKey):
            signer_key = self.pki.stranger_key
        raw = (
            signer_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
            if signer_key is not None
            else self.sign(body, variant)
        )
        signature = base64.b64encode(raw).decode("ascii")
        headers = {
            "X-MS-Certificate-Url": self.certificate_url(route if route is not None else variant),
            "X-MS-Signature-Algorithm": "rsa-sha256",
        }
        if style == "authorization":
            headers["Authorization"] = f"Signature {signature}"
        elif style == "x-ms-signature":
            headers["x-ms-signature"] = signature
        else:
            raise ValueError(f"unknown signature style {style!r}")
        return headers

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for `PartnerCenterSettings(...)` trusting this signer."""
        return {
            "pc_webhook_cert_hosts": [f"127.0.0.1:{self.port}"],
            "pc_webhook_trust_roots": self.trust_roots_path,
            "pc_webhook_intermediates": self.intermediates_path,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables (for end-to-end tests of the whole app)."""
        return {
            "PC_WEBHOOK_CERT_HOSTS": f"127.0.0.1:{self.port}",
            "PC_WEBHOOK_TRUST_ROOTS": str(self.trust_roots_path),
            "PC_WEBHOOK_INTERMEDIATES": str(self.intermediates_path),
        }

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the test root (for the certificate download)."""
        return ssl.create_default_context(cafile=str(self.trust_roots_path))

    def http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=self.ssl_context())

    def fetch_count(self, route: CertVariant | CertRoute = CertVariant.GOOD) -> int:
        with self._counts_lock:
            return self._counts[self.path_for(route)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)
        if WebhookSigner._shared is self:
            WebhookSigner._shared = None

    def __enter__(self) -> WebhookSigner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the server ----------------------------------------------------------------------------

    def _write(self, name: str, data: bytes) -> Path:
        path = self._dir / name
        path.write_bytes(data)
        return path

    def _server_tls(self) -> ssl.SSLContext:
        tls = self.pki.tls
        cert_path = self._write("tls.pem", _pem(tls))
        key_path = self._write(
            "tls.key",
            tls.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context

    def _responses(self) -> dict[str, tuple[int, dict[str, str], bytes]]:
        der = serialization.Encoding.DER
        routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            self.path_for(variant): (200, {}, issued.certificate.public_bytes(der))
            for variant, issued in self.pki.leaves.items()
        }
        good = self.pki.leaves[CertVariant.GOOD]
        routes[self.path_for(CertRoute.PEM)] = (200, {}, _pem(good))
        routes[self.path_for(CertRoute.REDIRECT)] = (
            302,
            {"Location": self.path_for(CertVariant.GOOD)},
            b"",
        )
        routes[self.path_for(CertRoute.HUGE)] = (200, {}, b"\x30" * HUGE_BYTES)
        routes[self.path_for(CertRoute.HUGE_UNDECLARED)] = (200, {}, b"\x30" * HUGE_BYTES)
        routes[self.path_for(CertRoute.GARBAGE)] = (200, {}, b"this is not a certificate")
        routes[self.path_for(CertRoute.SLOW)] = routes[self.path_for(CertVariant.GOOD)]
        return routes

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        routes = self._responses()
        slow_path = self.path_for(CertRoute.SLOW)
        undeclared_path = self.path_for(CertRoute.HUGE_UNDECLARED)
        signer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with signer._counts_lock:
                    signer._counts[self.path] += 1
                status, headers, body = routes.get(self.path, (404, {}, b"not found"))
                if self.path == slow_path:
                    time.sleep(SLOW_SECONDS)
                self.send_response(status)
                self.send_header("Content-Type", "application/pkix-cert")
                if self.path != undeclared_path:
                    self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

        return Handler
