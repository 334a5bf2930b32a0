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
import hashlib
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
from dataclasses import dataclass, replace
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
    tenant: str | None = None  # the partner tenant whose token made the call
    user: str | None = None  # the signed-in user of a delegated token (None: app-only)


@dataclass
class PartnerTenant:
    """One partner's data: its GDAP relationships, customers and webhook registration."""

    tenant_id: str
    relationships: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    registration: dict[str, Any] | None = None


@dataclass
class _Grant:
    """A refresh token (or an authorization code) and what it is bound to."""

    client_id: str
    tenant: str
    user: str | None
    scopes: frozenset[str]
    redirect_uri: str | None = None
    challenge: str | None = None
    used: bool = False
    revoked: bool = False


@dataclass(frozen=True)
class _Access:
    tenant: str
    audience: str  # "graph" or "pc"
    user: str | None
    scopes: frozenset[str]


AUTHORIZE_SUFFIX = "/oauth2/v2.0/authorize"
TOKEN_SUFFIX = "/oauth2/v2.0/token"
ANY_TENANT = ("organizations", "common")
GRAPH_GDAP_SCOPE = "https://graph.microsoft.com/DelegatedAdminRelationship.ReadWrite.All"
PC_USER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"


def _aadsts(status: int, error: str, code: str, text: str) -> tuple[int, dict[str, Any]]:
    """An error body shaped like Entra ID's (error, error_description with its AADSTS code)."""
    return status, {
        "error": error,
        "error_description": f"{code}: {text} Trace ID: {uuid.uuid4()} Correlation ID: "
        f"{uuid.uuid4()} Timestamp: 2026-11-30 12:00:00Z",
        "error_codes": [int(code[6:])],
    }


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _id_token(client_id: str, tenant: str, user: str) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {"aud": client_id, "tid": tenant, "preferred_username": user, "ver": "2.0"}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c3RhbmQtaW4"


class GraphStandIn:
    """Microsoft Graph's GDAP endpoints, Partner Center's REST API under `/pc` and Microsoft
    Entra ID, on http://127.0.0.1:PORT, for several partner tenants, refusing what the
    documentation says they refuse.

    Entra ID (`/{tenant}/oauth2/v2.0/authorize` and `/token`; `{tenant}` may be
    `organizations`):

    - authorize (GET, `login_hint` = the user who signs in, playing the browser): a known
      app (`client_id`), a redirect URI registered on it, `response_type=code`, PKCE
      `code_challenge` with `code_challenge_method=S256`, `openid` and `offline_access` among
      the scopes; a user of another tenant than the one in the path is refused (AADSTS50020,
      redirected with `error`); else a redirect with a single-use `code` and the `state`;
    - token, `authorization_code`: the code once only (AADSTS54005), for the app, redirect
      URI and tenant it was issued for, with the `code_verifier` of its challenge
      (AADSTS501481) and the app's secret; answers an access token, a refresh token and an
      id_token whose `tid` is the user's tenant;
    - token, `refresh_token`: for the app and tenant it was issued for; a revoked consent
      (`revoke(tenant)`) is AADSTS50173; every use returns a new refresh token (`rotate`),
      and with `strict_single_use` a used one is refused (AADSTS70000: Microsoft does not do
      that, the stand-in does so tests prove no rotation is lost);
    - token, `client_credentials` for Graph (app-only), for the app in a known tenant.

    The legacy single partner: `partner_tenant_id` with the deployment's app (CLIENT_ID /
    CLIENT_SECRET) and REFRESH_TOKEN (which does not rotate, unless `rotate_legacy`).

    Graph (`/graph/...`, bearer token required; the relationship lives in the tenant of the
    token; a delegated token needs the DelegatedAdminRelationship.ReadWrite.All consent):
    `POST .../delegatedAdminRelationships` (`displayName` 1-50 characters and unique among the
    partner's relationships, `duration` P1D-P2Y, `accessDetails.unifiedRoles` with at least
    one role GUID, `autoExtendDuration` one of P0D/PT0S/P180D and not P180D with Global
    Administrator, `customer.tenantId` a GUID; 201 `created`), `POST .../{id}/requests`
    (`lockForApproval` on a `created` relationship), `GET .../{id}`.

    Partner Center (`/pc/...`, a Partner Center token of the tenant): webhook registration
    (`POST`/`PUT`/`GET /pc/webhooks/v1/registration`: https `WebhookUrl`, known events; a second
    POST is 409), `GET /pc/v1/customers/relationshiprequests` (the tenant's invitation link),
    `GET /pc/v1/customers/{id}` (the tenant's customers, else 404).

    `approve(id)` plays the customer's admin. For tests and benchmarks only.

        graph = GraphStandIn(); settings = graph.settings(); ...; graph.close()
    """

    CLIENT_ID = "graph-standin-app"
    CLIENT_SECRET = "graph-standin-secret"
    REFRESH_TOKEN = "pc-standin-refresh-token"

    def __init__(self, partner_tenant_id: str = "11111111-2222-3333-4444-555555555555") -> None:
        self.partner_tenant_id = partner_tenant_id
        self.tenants: dict[str, PartnerTenant] = {}
        self.calls: list[GraphCall] = []
        self.token_requests: list[dict[str, str]] = []  # forms posted to the token endpoint
        self.authorize_requests = 0
        self.apps: dict[str, tuple[str, set[str]]] = {self.CLIENT_ID: (self.CLIENT_SECRET, set())}
        self.users: dict[str, str] = {}  # user → home tenant
        self.rotate = True
        self.strict_single_use = False
        self.rotate_legacy = False
        self._codes: dict[str, _Grant] = {}
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self._lock = threading.Lock()
        self.add_tenant(partner_tenant_id)
        self._grants[self.REFRESH_TOKEN] = _Grant(
            self.CLIENT_ID, partner_tenant_id, None, frozenset({PC_USER_SCOPE})
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- the legacy single partner's data (its default tenant) -------------------------------
    @property
    def relationships(self) -> dict[str, dict[str, Any]]:
        return self.tenants[self.partner_tenant_id].relationships

    @property
    def customers(self) -> dict[str, dict[str, Any]]:
        return self.tenants[self.partner_tenant_id].customers

    @property
    def registration(self) -> dict[str, Any] | None:
        return self.tenants[self.partner_tenant_id].registration

    @registration.setter
    def registration(self, value: dict[str, Any] | None) -> None:
        self.tenants[self.partner_tenant_id].registration = value

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings_overrides(self) -> dict[str, Any]:
        """PartnerCenterSettings fields pointing at this stand-in with its credentials."""
        return {
            "graph_api_url": f"{self.origin}/graph",
            "azure_ad_token_url": f"{self.origin}/{{tenant}}{TOKEN_SUFFIX}",
            "entra_authorize_url": f"{self.origin}/{{tenant}}{AUTHORIZE_SUFFIX}",
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

    def connect_overrides(self, public_base_url: str) -> dict[str, Any]:
        """Settings for organizations that connect through "Connect Partner Center" only (no
        legacy partner): the endpoints and the deployment's app, no PARTNER_TENANT_ID."""
        return {
            "graph_api_url": f"{self.origin}/graph",
            "partner_center_api_url": f"{self.origin}/pc",
            "azure_ad_token_url": f"{self.origin}/{{tenant}}{TOKEN_SUFFIX}",
            "entra_authorize_url": f"{self.origin}/{{tenant}}{AUTHORIZE_SUFFIX}",
            "partner_center_client_id": self.CLIENT_ID,
            "partner_center_client_secret": self.CLIENT_SECRET,
            "partner_center_timeout": 5.0,
            "public_base_url": public_base_url,
        }

    # -- set-up ------------------------------------------------------------------------------
    def add_tenant(self, tenant_id: str) -> PartnerTenant:
        with self._lock:
            return self.tenants.setdefault(tenant_id, PartnerTenant(tenant_id, {}, {}))

    def add_user(self, user: str, tenant_id: str) -> None:
        """A partner admin of `tenant_id` who can sign in."""
        self.add_tenant(tenant_id)
        with self._lock:
            self.users[user] = tenant_id

    def add_app(self, client_id: str, secret: str) -> None:
        with self._lock:
            self.apps[client_id] = (secret, set())

    def allow_redirect(self, uri: str, client_id: str | None = None) -> None:
        """Register a redirect URI on an app (default: the deployment's)."""
        with self._lock:
            self.apps[client_id or self.CLIENT_ID][1].add(uri)

    def issue_legacy_refresh_token(self, token: str) -> None:
        """Another refresh token for the legacy partner (as a new consent would give)."""
        with self._lock:
            self._grants[token] = replace(self._grants[self.REFRESH_TOKEN], used=False)

    def revoke(self, tenant_id: str) -> None:
        """The tenant's admin revokes the consent: its refresh tokens stop working."""
        with self._lock:
            for grant in self._grants.values():
                if grant.tenant == tenant_id:
                    grant.revoked = True

    def add_customer(
        self, customer_id: str, company: str, domain: str, tenant_id: str | None = None
    ) -> None:
        """A customer of a partner (default: the legacy one), as GET /v1/customers/{id}."""
        tenant = self.add_tenant(tenant_id or self.partner_tenant_id)
        with self._lock:
            tenant.customers[customer_id.lower()] = {
                "id": customer_id.lower(),
                "companyProfile": {"companyName": company, "domain": domain},
            }

    def sign_in(self, authorize_url: str, user: str) -> httpx.Response:
        """Play the browser: open Entra's authorize URL as `user`; the answer is Entra's
        redirect (its Location goes back to the bot)."""
        url = f"{authorize_url}&{urllib.parse.urlencode({'login_hint': user})}"
        with httpx.Client() as http:
            return http.get(url, follow_redirects=False)

    def reset(self) -> None:
        with self._lock:
            for tenant in self.tenants.values():
                tenant.relationships.clear()
            self.calls.clear()

    def approve(self, relationship_id: str) -> None:
        """The customer's admin approves a relationship locked for approval."""
        with self._lock:
            relationship = next(
                t.relationships[relationship_id]
                for t in self.tenants.values()
                if relationship_id in t.relationships
            )
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

    def refresh_tokens_used(self) -> list[str]:
        """The refresh tokens the token endpoint was asked to redeem, in order."""
        with self._lock:
            return [f["refresh_token"] for f in self.token_requests if "refresh_token" in f]

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

    # ------------------------------------------------------------------ Entra ID
    def _authorize(self, tenant: str, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """(302, {"Location": ...}) or (400, {}) when there is nowhere safe to redirect."""
        self.authorize_requests += 1
        app = self.apps.get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if app is None or redirect not in app[1]:
            return 400, {}  # AADSTS700016 / AADSTS50011: shown by Entra, no redirect
        state = query.get("state", "")

        def back(values: dict[str, str]) -> tuple[int, dict[str, str]]:
            extra = {"state": state} if state else {}
            return 302, {"Location": f"{redirect}?{urllib.parse.urlencode(values | extra)}"}

        def error(name: str, code: str, text: str) -> tuple[int, dict[str, str]]:
            return back({"error": name, "error_description": f"{code}: {text}"})

        scopes = frozenset(query.get("scope", "").split())
        if query.get("response_type") != "code":
            return error("unsupported_response_type", "AADSTS70005", "response_type must be code")
        if not {"openid", "offline_access"} <= scopes:
            return error("invalid_request", "AADSTS90009", "openid and offline_access needed")
        challenge = query.get("code_challenge", "")
        if query.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return error("invalid_request", "AADSTS501491", "a S256 code_challenge is required")
        user = query.get("login_hint", "")
        home = self.users.get(user)
        if home is None:
            return error("access_denied", "AADSTS50034", f"the user {user} does not exist")
        if tenant not in ANY_TENANT and tenant != home:
            return error(
                "access_denied",
                "AADSTS50020",
                f"User account {user} from identity provider does not exist in tenant {tenant}",
            )
        code = f"code-{uuid.uuid4().hex}"
        self._codes[code] = _Grant(
            query["client_id"], home, user, scopes, redirect_uri=redirect, challenge=challenge
        )
        return back({"code": code})

    def _token(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(dict(form))
        tenant = path[1 : -len(TOKEN_SUFFIX)]
        if tenant not in ANY_TENANT and tenant not in self.tenants:
            return _aadsts(400, "invalid_request", "AADSTS90002", f"Tenant '{tenant}' not found.")
        app = self.apps.get(form.get("client_id", ""))
        if app is None or app[0] != form.get("client_secret"):
            return _aadsts(401, "invalid_client", "AADSTS7000215", "Invalid client secret.")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem_code(tenant, form)
        if grant_type == "refresh_token":
            return self._redeem_refresh(tenant, form)
        if grant_type != "client_credentials" or form.get("scope") != GRAPH_SCOPE:
            return _aadsts(400, "unsupported_grant_type", "AADSTS70003", "unsupported grant")
        if tenant in ANY_TENANT:
            return _aadsts(400, "invalid_request", "AADSTS90002", "app-only needs a tenant")
        return 200, self._issue(_Access(tenant, "graph", None, frozenset()))

    def _redeem_code(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        code = self._codes.get(form.get("code", ""))
        if code is None:
            return _aadsts(400, "invalid_grant", "AADSTS70000", "The provided code is not valid.")
        if code.used:
            return _aadsts(
                400,
                "invalid_grant",
                "AADSTS54005",
                "OAuth2 Authorization code was already redeemed.",
            )
        code.used = True
        same_app = code.client_id == form.get("client_id")
        if not same_app or code.redirect_uri != form.get("redirect_uri"):
            return _aadsts(
                400, "invalid_grant", "AADSTS70000", "The code was issued for another app or URI."
            )
        if tenant not in ANY_TENANT and tenant != code.tenant:
            return _aadsts(
                400, "invalid_grant", "AADSTS50020", "The code was issued in another tenant."
            )
        if _challenge(form.get("code_verifier", "")) != code.challenge:
            return _aadsts(
                400,
                "invalid_grant",
                "AADSTS501481",
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
        assert code.user is not None
        refresh = f"rt-{uuid.uuid4().hex}"
        self._grants[refresh] = _Grant(code.client_id, code.tenant, code.user, code.scopes)
        body = self._issue(_Access(code.tenant, "pc", code.user, code.scopes))
        body["refresh_token"] = refresh
        body["id_token"] = _id_token(code.client_id, code.tenant, code.user)
        return 200, body

    def _redeem_refresh(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("refresh_token", "")
        grant = self._grants.get(token)
        if grant is None:
            return _aadsts(400, "invalid_grant", "AADSTS9002313", "Invalid request.")
        if grant.client_id != form.get("client_id"):
            return _aadsts(
                400,
                "invalid_grant",
                "AADSTS700007",
                "The grant was issued for a different client id.",
            )
        if tenant not in ANY_TENANT and tenant != grant.tenant:
            return _aadsts(400, "invalid_grant", "AADSTS50020", "Not issued in this tenant.")
        if grant.revoked:
            return _aadsts(
                400,
                "invalid_grant",
                "AADSTS50173",
                "The provided grant has expired due to it being revoked.",
            )
        if grant.used and self.strict_single_use:
            return _aadsts(
                400, "invalid_grant", "AADSTS70000", "The refresh token was used already."
            )
        scope = form.get("scope", "")
        if scope == PC_SCOPE:
            audience = "pc"
        elif scope == f"{GRAPH_SCOPE} offline_access" and grant.user is not None:
            audience = "graph"
        else:
            return _aadsts(400, "invalid_scope", "AADSTS70011", f"The scope {scope} is not valid.")
        grant.used = True
        body = self._issue(_Access(grant.tenant, audience, grant.user, grant.scopes))
        legacy = token == self.REFRESH_TOKEN
        if (self.rotate and not legacy) or (legacy and self.rotate_legacy):
            rotated = f"rt-{uuid.uuid4().hex}"
            self._grants[rotated] = replace(grant, used=False)
            body["refresh_token"] = rotated
        return 200, body

    def _issue(self, access: _Access) -> dict[str, Any]:
        token = f"{access.audience}-token-{uuid.uuid4().hex[:12]}"
        self._access[token] = access
        return {"token_type": "Bearer", "access_token": token, "expires_in": 3600}

    def _create(self, partner: PartnerTenant, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return _graph_error(400, "the body is not a JSON object")
        name = body.get("displayName")
        if not isinstance(name, str) or not 1 <= len(name) <= 50:
            return _graph_error(400, "displayName is required, at most 50 characters")
        if any(r["displayName"] == name for r in partner.relationships.values()):
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
            "partnerTenantId": partner.tenant_id,  # ours: where the relationship lives
        }
        partner.relationships[relationship_id] = relationship
        return 201, dict(relationship)

    def _request(
        self, partner: PartnerTenant, relationship_id: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        relationship = partner.relationships.get(relationship_id)
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
            if method == "POST" and path.endswith(TOKEN_SUFFIX):
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                return self._token(path, form)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return _graph_error(400, "the body is not JSON")
            token = (auth or "").removeprefix("Bearer ")
            access = self._access.get(token)
            tenant, user = (access.tenant, access.user) if access else (None, None)
            self.calls.append(GraphCall(method, path, auth, body, tenant, user))
            if path.startswith("/pc/"):
                if access is None or access.audience != "pc":
                    return _pc_error(401, "a Partner Center bearer token is required")
                partner = self.tenants[access.tenant]
                return self._partner_center(partner, method, path[len("/pc") :], body)
            if access is None or access.audience != "graph":
                return _graph_error(401, "a valid bearer token is required")
            if access.user is not None and GRAPH_GDAP_SCOPE not in access.scopes:
                return _graph_error(403, "DelegatedAdminRelationship.ReadWrite.All not consented")
            partner = self.tenants[access.tenant]
            if not path.startswith(GRAPH_RELATIONSHIPS):
                return _graph_error(404, f"no such resource {path}")
            rest = path[len(GRAPH_RELATIONSHIPS) :].strip("/").split("/")
            if method == "POST" and rest == [""]:
                return self._create(partner, body)
            if method == "POST" and len(rest) == 2 and rest[1] == "requests":
                return self._request(partner, rest[0], body)
            if method == "GET" and len(rest) == 1 and rest[0] in partner.relationships:
                return 200, dict(partner.relationships[rest[0]])
            return _graph_error(404, f"no such resource {path}")

    def _partner_center(
        self, partner: PartnerTenant, method: str, path: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if path == "/webhooks/v1/registration":
            if method == "GET":
                if partner.registration is None:
                    return _pc_error(404, "no webhook registration")
                return 200, dict(partner.registration)
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
            if method == "POST" and partner.registration is not None:
                return _pc_error(409, "a webhook is already registered; update it with PUT")
            if method == "PUT" and partner.registration is None:
                return _pc_error(404, "no webhook registration to update")
            partner.registration = {"SubscriberId": partner.tenant_id, **body}
            return 200, dict(partner.registration)
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["v1", "customers", "relationshiprequests"]:
            url = (
                "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
                f"&partnerId={partner.tenant_id}#/BillingAccounts/partner-invitation"
            )
            return 200, {"url": url}
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "customers"]:
            customer = partner.customers.get(parts[2].lower())
            if customer is None:
                return _pc_error(404, f"customer {parts[2]} not found")
            return 200, dict(customer)
        return _pc_error(404, f"no such resource {path}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _authorize(self) -> bool:
                url = urllib.parse.urlsplit(self.path)
                if not url.path.endswith(AUTHORIZE_SUFFIX):
                    return False
                query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                tenant = url.path[1 : -len(AUTHORIZE_SUFFIX)]
                with standin._lock:
                    status, headers = standin._authorize(tenant, query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def _serve(self, method: str) -> None:
                if method == "GET" and self._authorize():
                    return
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
