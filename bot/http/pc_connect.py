"""`GET /partner-center/connect/callback`: the browser back from Microsoft Entra ID at the end
of "Connect Partner Center" (bot/core/pc_connect.py, docs/partner-center-connection.md).

Only the query string is read (no body). Authentication is the OAuth state, checked first by
`pc_connect.finish`: without a valid one nothing is called or written. The page is in the
browser's language (English or Spanish); on success the admin is told in Slack, with their
workspace's token, and the Home tabs of the organization are refreshed.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.core import pc_connect
from bot.core.connections import http_client
from bot.core.delivery import tell_user
from bot.core.home import refresher
from bot.core.installations import NotInstalled, workspace_client
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from bot.core.ui.render import environment

log = logging.getLogger(__name__)
HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


def page_language(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in ("en", "es"):
        return asked
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "es" if first.startswith("es") else DEFAULT_LANGUAGE


def connect_route(services: Services, client: AsyncWebClient) -> Route:
    """The callback route; `client` (the app's) sends the Slack notice with the workspace's
    own token (distributed mode) or the bot token."""

    async def callback(request: Request) -> Response:
        query = {key: value for key, value in request.query_params.items()}
        done = await pc_connect.finish(services, query, http_client(services))
        lang = page_language(request)
        html = (
            environment(lang)
            .get_template("web/pc_connect_result.html.j2")
            .render(lang=lang, code=done.code, p=done.params)
        )
        if done.ok:
            await _tell(services, client, done)
        return HTMLResponse(html, status_code=done.status, headers=HEADERS)

    return Route(pc_connect.CALLBACK_PATH, callback, methods=["GET"])


async def _tell(services: Services, client: AsyncWebClient, done: pc_connect.Finished) -> None:
    assert done.team_id is not None and done.user_id is not None and done.org_id is not None
    try:
        own = await workspace_client(services.tokens, client, done.team_id)
    except NotInstalled:
        log.warning(
            "Partner Center connected, but Multichannel is not installed in %s", done.team_id
        )
        return
    lang = await services.language.for_user(own, done.user_id, done.team_id)
    notice = surfaces.notice_message("pc_connected", lang=lang, org=done.params.get("org", ""))
    try:
        await tell_user(own, notice, user=done.user_id)
    except SlackApiError as exc:
        log.warning("could not tell %s that Partner Center is connected: %s", done.user_id, exc)
    refresher(services).request(own, [done.org_id])
