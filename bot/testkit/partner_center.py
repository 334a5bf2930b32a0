"""Sign webhook deliveries the way Partner Center does, against a local certificate host.

    signer = WebhookSigner()                       # starts https://127.0.0.1:PORT
    settings = PartnerCenterSettings(**signer.settings_overrides())
    verifier = WebhookVerifier(settings, http=signer.http_client())
    await verifier.verify(signer.headers(body), body)

The PKI (test root → issuing CA → signing certificate) is generated once per process. The server
serves the good certificate at `/cert/pcnotifications-dispatch.microsoft.com.cer` (DER), the same
in PEM, each broken variant, a redirect, a 404, an oversized file and a slow answer.

`GraphStandIn`: Microsoft Graph's GDAP relationship endpoints and the token endpoint, on
http://127.0.0.1:PORT, refusing what Graph documents it refuses.
For tests and benchmarks only.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.core.partner_center.events import SUBSCRIBED_EVENTS
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


# ------------------------------------------------------------------------------ Graph (GDAP)
GRAPH_RELATIONSHIPS = "/graph/v1.0/tenantRelationships/delegatedAdminRelationships"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PC_SCOPE = "https://api.partnercenter.microsoft.com/.default offline_access"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ISO_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True)
class GraphCall:
    method: str
    path: str
    authorization: str | None
    body: Any


class GraphStandIn:
    """Microsoft Graph's GDAP endpoints and the Entra ID token endpoint, on
    http://127.0.0.1:PORT, refusing what the documentation says Graph refuses:

    - token (`/{tenant}/oauth2/v2.0/token`): client credentials for the Graph scope, with this
      app's id and secret, for this partner tenant only;
    - `POST .../delegatedAdminRelationships` (bearer token required): `displayName` 1-50
      characters and unique among the partner's relationships, `duration` P1D-P2Y,
      `accessDetails.unifiedRoles` with at least one role GUID, `autoExtendDuration` one of
      P0D/PT0S/P180D and not P180D with Global Administrator, `customer.tenantId` a GUID;
      answers 201 with the relationship in status `created`, in THIS partner's tenant;
    - `POST .../{id}/requests`: `lockForApproval` on a `created` relationship (it becomes
      `approvalPending`), else 400; an unknown id is 404;
    - `GET .../{id}`.

    And Partner Center's REST API under `/pc` (docs/partner-center.md §5):

    - token: the refresh-token grant (app+user) for the Partner Center scope, with
      REFRESH_TOKEN only;
    - `POST /pc/webhooks/v1/registration` (Partner Center bearer token required): `WebhookUrl`
      https, `WebhookEvents` a non-empty list of known event names; a second POST while one is
      registered is 409 (update with `PUT`); `GET` returns it, 404 when none;
    - `GET /pc/v1/customers/{id}`: the customers of THIS partner (`customers`), else 404.

    `approve(id)` plays the customer's admin. For tests and benchmarks only.

        graph = GraphStandIn(); settings = graph.settings(); ...; graph.close()
    """

    CLIENT_ID = "graph-standin-app"
    CLIENT_SECRET = "graph-standin-secret"
    REFRESH_TOKEN = "pc-standin-refresh-token"

    def __init__(self, partner_tenant_id: str = "11111111-2222-3333-4444-555555555555") -> None:
        self.partner_tenant_id = partner_tenant_id
        self.relationships: dict[str, dict[str, Any]] = {}
        self.calls: list[GraphCall] = []
        self.registration: dict[str, Any] | None = None
        self.customers: dict[str, dict[str, Any]] = {}  # id → Partner Center's customer
        self._tokens: set[str] = set()
        self._pc_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings_overrides(self) -> dict[str, Any]:
        """PartnerCenterSettings fields pointing at this stand-in with its credentials."""
        return {
            "graph_api_url": f"{self.origin}/graph",
            "azure_ad_token_url": f"{self.origin}/{{tenant}}/oauth2/v2.0/token",
            "partner_tenant_id": self.partner_tenant_id,
            "partner_center_client_id": self.CLIENT_ID,
            "partner_center_client_secret": self.CLIENT_SECRET,
            "partner_center_timeout": 5.0,
        }

    def partner_center_overrides(self) -> dict[str, Any]:
        """The Graph overrides plus Partner Center's REST API and its refresh token."""
        return {
            **self.settings_overrides(),
            "partner_center_api_url": f"{self.origin}/pc",
            "partner_center_refresh_token": self.REFRESH_TOKEN,
        }

    def add_customer(self, customer_id: str, company: str, domain: str) -> None:
        """A customer of this partner, as GET /v1/customers/{id} shows it."""
        with self._lock:
            self.customers[customer_id.lower()] = {
                "id": customer_id.lower(),
                "companyProfile": {"companyName": company, "domain": domain},
            }

    def reset(self) -> None:
        with self._lock:
            self.relationships.clear()
            self.calls.clear()

    def approve(self, relationship_id: str) -> None:
        """The customer's admin approves a relationship locked for approval."""
        with self._lock:
            relationship = self.relationships[relationship_id]
            if relationship["status"] != "approvalPending":
                raise ValueError(f"{relationship_id} is {relationship['status']}")
            relationship["status"] = "approved"

    def made(self, method: str, suffix: str = "") -> list[GraphCall]:
        """Calls to the relationships collection (`suffix`: e.g. "/{id}/requests")."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == method and c.path == GRAPH_RELATIONSHIPS + suffix
            ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> GraphStandIn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ the endpoints
    def _token(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path != f"/{self.partner_tenant_id}/oauth2/v2.0/token":
            return 400, {"error": "invalid_request", "error_description": "unknown tenant"}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.CLIENT_ID,
            self.CLIENT_SECRET,
        ):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "refresh_token":
            if form.get("scope") != PC_SCOPE:
                return 400, {"error": "invalid_scope"}
            if form.get("refresh_token") != self.REFRESH_TOKEN:
                return 400, {"error": "invalid_grant"}
            pc_token = f"pc-token-{uuid.uuid4().hex[:12]}"
            self._pc_tokens.add(pc_token)
            return 200, {"token_type": "Bearer", "access_token": pc_token, "expires_in": 3600}
        if form.get("grant_type") != "client_credentials" or form.get("scope") != GRAPH_SCOPE:
            return 400, {"error": "unsupported_grant_type"}
        token = f"graph-token-{uuid.uuid4().hex[:12]}"
        self._tokens.add(token)
        return 200, {"token_type": "Bearer", "access_token": token, "expires_in": 3600}

    def _create(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return _graph_error(400, "the body is not a JSON object")
        name = body.get("displayName")
        if not isinstance(name, str) or not 1 <= len(name) <= 50:
            return _graph_error(400, "displayName is required, at most 50 characters")
        if any(r["displayName"] == name for r in self.relationships.values()):
            return _graph_error(400, "displayName must be unique across the partner's")
        duration = body.get("duration")
        days = _days(duration) if isinstance(duration, str) else None
        if days is None or not 1 <= days <= 730:
            return _graph_error(400, "duration must be between P1D and P2Y")
        roles = ((body.get("accessDetails") or {}).get("unifiedRoles")) or []
        ids = [r.get("roleDefinitionId") for r in roles if isinstance(r, dict)]
        if not ids or len(ids) != len(roles) or not all(_is_guid(i) for i in ids):
            return _graph_error(400, "accessDetails.unifiedRoles needs role definition ids")
        extend = body.get("autoExtendDuration", "PT0S")
        if extend not in ("P0D", "PT0S", "P180D"):
            return _graph_error(400, "autoExtendDuration must be P0D, PT0S or P180D")
        if extend == "P180D" and GLOBAL_ADMINISTRATOR in ids:
            return _graph_error(400, "no auto-extension with Global Administrator")
        customer = body.get("customer")
        tenant = None
        if customer is not None:
            tenant = customer.get("tenantId") if isinstance(customer, dict) else None
            if not _is_guid(tenant):
                return _graph_error(400, "customer.tenantId must be a GUID")
        relationship_id = f"{uuid.uuid4()}-{tenant or uuid.uuid4()}"
        relationship = {
            "id": relationship_id,
            "displayName": name,
            "duration": duration,
            "customer": {"tenantId": tenant} if tenant else None,
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": i} for i in ids]},
            "autoExtendDuration": extend,
            "status": "created",
            "partnerTenantId": self.partner_tenant_id,  # ours: where the relationship lives
        }
        self.relationships[relationship_id] = relationship
        return 201, dict(relationship)

    def _request(self, relationship_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        relationship = self.relationships.get(relationship_id)
        if relationship is None:
            return _graph_error(404, f"no relationship {relationship_id}")
        action = body.get("action") if isinstance(body, dict) else None
        if action != "lockForApproval" or relationship["status"] != "created":
            return _graph_error(400, f"cannot {action} a relationship in {relationship['status']}")
        relationship["status"] = "approvalPending"
        return 201, {"id": str(uuid.uuid4()), "action": action, "status": "created"}

    def _answer(
        self, method: str, path: str, auth: str | None, raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if method == "POST" and path.endswith("/oauth2/v2.0/token"):
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                return self._token(path, form)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return _graph_error(400, "the body is not JSON")
            self.calls.append(GraphCall(method, path, auth, body))
            token = (auth or "").removeprefix("Bearer ")
            if path.startswith("/pc/"):
                if token not in self._pc_tokens:
                    return _pc_error(401, "a Partner Center bearer token is required")
                return self._partner_center(method, path[len("/pc") :], body)
            if token not in self._tokens:
                return _graph_error(401, "a valid bearer token is required")
            if not path.startswith(GRAPH_RELATIONSHIPS):
                return _graph_error(404, f"no such resource {path}")
            rest = path[len(GRAPH_RELATIONSHIPS) :].strip("/").split("/")
            if method == "POST" and rest == [""]:
                return self._create(body)
            if method == "POST" and len(rest) == 2 and rest[1] == "requests":
                return self._request(rest[0], body)
            if method == "GET" and len(rest) == 1 and rest[0] in self.relationships:
                return 200, dict(self.relationships[rest[0]])
            return _graph_error(404, f"no such resource {path}")

    def _partner_center(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if path == "/webhooks/v1/registration":
            if method == "GET":
                if self.registration is None:
                    return _pc_error(404, "no webhook registration")
                return 200, dict(self.registration)
            if method not in ("POST", "PUT"):
                return _pc_error(405, "method not allowed")
            if not isinstance(body, dict):
                return _pc_error(400, "the body is not a JSON object")
            url, events = body.get("WebhookUrl"), body.get("WebhookEvents")
            if not isinstance(url, str) or not url.startswith("https://"):
                return _pc_error(400, "WebhookUrl must be an https URL")
            known = set(SUBSCRIBED_EVENTS) | {"test-created"}
            if (
                not isinstance(events, list)
                or not events
                or not all(isinstance(e, str) and e in known for e in events)
            ):
                return _pc_error(400, "WebhookEvents must list known events")
            if method == "POST" and self.registration is not None:
                return _pc_error(409, "a webhook is already registered; update it with PUT")
            if method == "PUT" and self.registration is None:
                return _pc_error(404, "no webhook registration to update")
            self.registration = {"SubscriberId": self.partner_tenant_id, **body}
            return 200, dict(self.registration)
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "customers"]:
            customer = self.customers.get(parts[2].lower())
            if customer is None:
                return _pc_error(404, f"customer {parts[2]} not found")
            return 200, dict(customer)
        return _pc_error(404, f"no such resource {path}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = standin._answer(
                    method, self.path, self.headers.get("Authorization"), raw
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _pc_error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": status, "description": message}


def _graph_error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    code = {400: "Request_BadRequest", 401: "InvalidAuthenticationToken"}.get(status, "NotFound")
    return status, {"error": {"code": code, "message": message}}


def _is_guid(value: Any) -> bool:
    return isinstance(value, str) and _GUID.match(value) is not None


def _days(duration: str) -> int | None:
    match = _ISO_DURATION.match(duration)
    if match is None or not any(match.groups()):
        return None
    years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
    return years * 365 + months * 30 + weeks * 7 + days
