"""`POST /partner-center/webhooks/{token}` (one URL per organization) and the legacy
`POST /partner-center/webhooks` (the URL of the organization PARTNER_ORG_KEY names): Partner
Center's event deliveries (docs/webhooks.md).

The request path does only this, and answers fast:
0. a path that is neither the legacy path nor a well-formed token → 404, before anything else;
1. read the body, refusing more than `PC_WEBHOOK_MAX_BODY` bytes (413), whether declared in
   Content-Length or sent chunked: never more than that is buffered;
2. verify the signature (`WebhookVerifier`): refused → its status (401; 503 when the failure is
   ours, e.g. the certificate could not be downloaded: Partner Center retries), nothing stored;
3. parse the event (`parse_event`): malformed → 400;
4. `test-created` and unknown events: 200, logged, nothing stored;
5. the organization whose URL it reached (bot/core/outbox/routing.py): an unknown token → 404;
   a delivery that does not belong to that organization → 403, logged, nothing stored (it is
   authentic but not this URL's: retrying cannot change that); its Partner Center unreachable
   while checking → 503 (Partner Center retries);
6. ONE transaction: insert the event into the inbox, deduplicated on the delivery's key (UNIQUE):
   a repeated delivery is a no-op that still answers 200.
The outbox worker does the rest (matching, transitions, Slack), off the request path.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.core.connections import clients_of
from bot.core.outbox.locks import write
from bot.core.outbox.queue import record_event
from bot.core.outbox.routing import (
    TOKEN_SHAPE,
    WEBHOOK_PATH,
    Addressee,
    Verdict,
    addressee_by_token,
    customer_confirmed,
    known_by,
    legacy_addressee,
)
from bot.core.partner_center.events import (
    EventKind,
    EventParseError,
    WebhookEvent,
    parse_event,
)
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.signature import WebhookRejected, WebhookVerifier
from bot.core.services import Services
from bot.core.store.clock import utc_now

log = logging.getLogger(__name__)


class _NotStored(enum.Enum):
    NOT_STORED = "not stored"


NOT_STORED = _NotStored.NOT_STORED  # `route` left the delivery to the rule's other steps
Stored = int | None | _NotStored  # the event's id, None for a delivery already stored
SLOW = 1.0  # seconds: a slower answer is logged (warning) with where the time went


def webhook_route(
    services: Services,
    verifier: WebhookVerifier | None = None,
    settings: PartnerCenterSettings | None = None,
) -> Route:
    """The route. Without `verifier`, one is built from `settings` (default: from the
    environment, PC_WEBHOOK_*)."""
    settings = settings if settings is not None else PartnerCenterSettings()
    verifier = verifier if verifier is not None else WebhookVerifier(settings)
    max_body = settings.pc_webhook_max_body

    async def partner_center_webhook(request: Request) -> Response:
        suffix = str(request.path_params.get("suffix", ""))
        token = suffix[1:] if suffix.startswith("/") else None
        if suffix and (token is None or not TOKEN_SHAPE.match(token)):
            return PlainTextResponse("not found", status_code=404)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            log.warning("webhook refused: body of %s bytes is too large", declared)
            return PlainTextResponse("request body too large", status_code=413)
        started = time.perf_counter()
        body = await _read_at_most(request, max_body)
        if body is None:
            log.warning("webhook refused: body of more than %s bytes", max_body)
            return PlainTextResponse("request body too large", status_code=413)
        try:
            await verifier.verify(request.headers, body)
        except WebhookRejected as exc:
            log.warning(
                "webhook refused (%s): %s %s",
                exc.http_status,
                exc.reason.value,
                exc.detail[:200],
            )
            return PlainTextResponse(exc.reason.value, status_code=exc.http_status)
        try:
            event = parse_event(body)
        except EventParseError as exc:
            log.warning("webhook refused (400): %s", exc)
            return PlainTextResponse(f"malformed event: {exc.reason.value}", status_code=400)
        if event.kind is EventKind.TEST:
            log.info("webhook: test event received (%s)", event.resource_uri)
            return JSONResponse({"status": "test"})
        if event.kind is EventKind.UNKNOWN:
            log.info("webhook: ignoring event %r", event.name[:120])
            return JSONResponse({"status": "ignored"})
        key = services.notify.partner_org_key
        verified = time.perf_counter()

        def store(session: Session, org: Addressee | None) -> int | None:
            if org is None:
                return record_event(session, event, now=utc_now())
            # the legacy URL and its organization's own URL: one delivery, one dedupe key
            own = org.deployment_org
            return record_event(session, event, now=utc_now(), org_id=org.org_id, own=own)

        def route(session: Session) -> tuple[Addressee | None, tuple[bool, bool], Stored]:
            """The addressee, whether it (or another organization) knows the event's
            resource and, when that settles it (the legacy URL of no organization, or a
            resource the organization knows: nearly every delivery), the stored event: one
            transaction."""
            if token is None:
                found = legacy_addressee(session, key)
            else:
                found = addressee_by_token(session, token, key)
            known = known_by(session, found.org_id, event) if found is not None else (False, False)
            settled = (found is None and token is None) or known[0]
            return found, known, store(session, found) if settled else NOT_STORED

        org, known, stored = await asyncio.to_thread(write, services.sessions, route)
        if org is None and token is not None:
            log.warning("webhook refused (404): no organization has this callback URL")
            return PlainTextResponse("not found", status_code=404)
        if stored is NOT_STORED:  # an organization's delivery its own data did not settle
            assert org is not None  # `route` stores every delivery that reached no organization
            verdict = await _belongs(services, org, event, others=known[1])
            if verdict is Verdict.TRY_LATER:
                log.warning("webhook for %s: Partner Center unreachable; try later", org.key)
                return PlainTextResponse("try again later", status_code=503)
            if not verdict.belongs:
                log.warning(
                    "webhook refused (403): %s for %s reached the URL of %s, which it does not "
                    "belong to (%s); nothing stored",
                    event.name[:120],
                    event.relationship_id or event.customer_id or "-",
                    org.key,
                    verdict.value,
                )
                return PlainTextResponse(
                    f"not this organization's delivery: {verdict.value}", status_code=403
                )
            stored = await asyncio.to_thread(write, services.sessions, lambda s: store(s, org))
        took = time.perf_counter() - started
        if took > SLOW:
            log.warning(
                "webhook took %.0f ms (verify and parse %.0f ms, route and store %.0f ms)",
                took * 1e3,
                (verified - started) * 1e3,
                (time.perf_counter() - verified) * 1e3,
            )
        if stored is None:
            log.info("webhook: %s delivered again; already stored", event.name)
            return JSONResponse({"status": "duplicate"})
        log.info("webhook: %s stored as event %s", event.name, stored)
        services.outbox_wakeup.set()
        return JSONResponse({"status": "accepted", "event": stored})

    return Route(WEBHOOK_PATH + "{suffix:path}", partner_center_webhook, methods=["POST"])


async def _belongs(
    services: Services, org: Addressee, event: WebhookEvent, others: bool
) -> Verdict:
    """The rule of bot/core/outbox/routing.py, for an authenticated delivery the
    organization's own data did not settle (`route` stored those it knows); `others`:
    another organization knows its resource (`known_by`)."""
    # The organization's own Partner Center connection (bot/core/connections.py)
    clients = await clients_of(services, org.org_id) if event.customer_id else None
    client = clients.partner_center if clients is not None else None
    if client is not None and event.customer_id:
        verdict = await customer_confirmed(client, event.customer_id)
        if verdict is not None:
            return verdict
    return Verdict.OTHERS if others else Verdict.NEW


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as more than `limit` bytes arrived (declared or chunked: an
    unauthenticated sender cannot make us buffer more than the limit)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
