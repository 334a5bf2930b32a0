"""SlackStandIn: a local HTTP server that answers like the Slack Web API and records every call.

with SlackStandIn() as slack:
    client = WebClient(token="xoxb-any", base_url=slack.base_url)
    client.chat_postMessage(channel="C0MCDESK01", text="hi")
    assert slack.last("chat.postMessage").params["text"] == "hi"
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from bot.testkit.api_methods import METHODS, NO_AUTH_METHODS
from bot.testkit.calls import RESPONSE_URL_METHOD, Call, CallLog, Stats
from bot.testkit.faults import Answer, FaultPlan, RateLimiter
from bot.testkit.http_server import HttpRequest, HttpResponse, LocalHttpServer
from bot.testkit.identity import Team
from bot.testkit.request_body import BadRequestBody, parse_params
from bot.testkit.workspace import Channel, SlackError, User, Workspace

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
RESPONSE_PREFIX = "/response/"
RESPONSE_URL_MAX_USES = 5

CustomHandler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackStandIn:
    """Stands in for https://slack.com/api/ on 127.0.0.1; thread-safe.

    `tokens`: the valid tokens of the default team; None accepts any non-empty token that
    belongs to no other team (a one-team stand-in). A missing token is answered `not_authed`,
    a wrong one `invalid_auth`, a revoked one `token_revoked`.

    Several workspaces: `add_team(...)` adds a strict team (nothing exists until set; another
    team's channel or user is `channel_not_found` / `user_not_found`) with its own bot token;
    each call acts in the team of its token. `oauth.v2.access` installs the app in a team
    (a code from `authorization_code`, once), issuing it a new token; `revoke_team` makes its
    tokens `token_revoked`.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        team: Team | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.team = team or Team()
        self.workspace = Workspace(self.team)
        self._tokens: frozenset[str] | None = None if tokens is None else frozenset(tokens)
        self._log = CallLog()
        self._faults = FaultPlan()
        self._limits = RateLimiter()
        self._custom: dict[str, CustomHandler] = {}
        self._lock = threading.Lock()
        self._response_ids = itertools.count(1)
        self._response_uses: dict[str, int] = {}
        self._server = LocalHttpServer(self._handle, host, port)
        self._teams: dict[str, Workspace] = {self.team.id: self.workspace}
        self._token_team: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._codes: dict[str, tuple[str, str]] = {}  # code → (team id, installing user)
        self._installs = itertools.count(1)
        self.app_credentials: tuple[str, str] | None = None  # (client id, client secret)
        self.token_rotation = False  # installs issue expiring tokens with a refresh token
        self._refresh: dict[str, str] = {}  # refresh token → team id (used once)

    # lifecycle ---------------------------------------------------------------

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/` (the server must be started)."""
        return f"http://{self._server.host}:{self._server.port}/"

    @property
    def base_url(self) -> str:
        """The `base_url` for WebClient / AsyncWebClient (ends with `/api/`)."""
        return f"{self.url}api/"

    def response_url(self, response_id: str | None = None) -> str:
        """A response_url served here; its POSTs are recorded as method "response_url"."""
        rid = response_id or f"{self.team.id}/{next(self._response_ids)}"
        return f"{self.url}response/{rid}"

    # recorded calls ----------------------------------------------------------

    def calls(self, method: str | None = None, *, delivered: bool | None = None) -> list[Call]:
        return self._log.select(method, delivered=delivered)

    def last(self, method: str) -> Call:
        found = self._log.select(method)
        if not found:
            seen = sorted({c.method for c in self._log.select()})
            raise LookupError(f"no {method!r} call recorded; methods seen: {seen}")
        return found[-1]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        delivered: bool | None = None,
    ) -> list[Call]:
        """Block until `count` calls of `method` arrived (delivered ones only if asked)."""
        return self._log.wait_for(method, count, timeout, delivered=delivered)

    def clear(self) -> None:
        """Forget recorded calls (workspace state, faults and limits stay)."""
        self._log.clear()

    @property
    def stats(self) -> Stats:
        return self._log.stats()

    # faults and limits -------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` and/or Slack `error`.

        Only `error`: HTTP 200 `{"ok": false, "error": error}`. Otherwise HTTP `status`
        (default 500) with `error` (default "internal_error"; "ratelimited" for 429).
        """
        if status is None and error is not None:
            answer = Answer(200, {"ok": False, "error": error})
        else:
            code = 500 if status is None else status
            if code == 429:
                answer = Answer.ratelimited(1)
            else:
                answer = Answer(code, {"ok": False, "error": error or "internal_error"})
        self._faults.add(method, answer, times)

    def force_429(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` HTTP 429 with `Retry-After: retry_after`."""
        if not isinstance(retry_after, int) or retry_after < 1:
            raise ValueError("retry_after must be an integer >= 1 (seconds)")
        self._faults.add(method, Answer.ratelimited(retry_after), times)

    def rate_limit(
        self,
        method: str = "chat.postMessage",
        per_channel_per_second: float = 1.0,
        burst: int = 1,
    ) -> None:
        """Enforce a token bucket per channel on `method`; excess calls get HTTP 429."""
        self._limits.limit(method, per_channel_per_second, burst)

    def no_rate_limit(self, method: str | None = None) -> None:
        self._limits.unlimit(method)

    def set_tokens(self, tokens: Iterable[str] | None) -> None:
        self._tokens = None if tokens is None else frozenset(tokens)

    def reset(self) -> None:
        """Forget calls, scripted faults and rate limits."""
        self._faults.clear()
        self._limits.unlimit()
        self._log.clear()

    # teams -------------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        *,
        name: str | None = None,
        token: str | None = None,
        enterprise_id: str | None = None,
    ) -> Workspace:
        """A strict workspace of its own (its bot user `U<team>BOT`); `token`: a bot token
        already valid there (an install in single-workspace style), else none until
        `oauth.v2.access`. `enterprise_id`: a workspace of that Enterprise Grid organization
        (installed at workspace level: `oauth.v2.access` and `auth.test` name the enterprise)."""
        suffix = team_id.removeprefix("T")
        team = Team(
            id=team_id,
            name=name or team_id,
            domain=team_id.lower(),
            bot_user_id=f"U{suffix}BOT"[:11],
            bot_id=f"B{suffix}"[:11],
            app_id=self.team.app_id,
            enterprise_id=enterprise_id,
        )
        workspace = Workspace(team, strict=True, counters=(self.workspace._ts, self.workspace._ids))
        with self._lock:
            self._teams[team_id] = workspace
            if token is not None:
                self._token_team[token] = team_id
        return workspace

    def share_channel(self, channel_id: str, host_team: str, *guest_teams: str) -> None:
        """A Slack Connect channel: hosted by `host_team` (set it there first), shared with
        `guest_teams`, whose members (and bots) see and post the same messages."""
        with self._lock:
            host = self._teams[host_team]
            guests = [self._teams[team] for team in guest_teams]
        host.channel(channel_id)  # channel_not_found unless it exists in the host team
        for guest in guests:
            guest.share(channel_id, host)

    def team_workspace(self, team_id: str) -> Workspace:
        with self._lock:
            return self._teams[team_id]

    def set_app_credentials(self, client_id: str, client_secret: str) -> None:
        """The app's client id and secret, which `oauth.v2.access` requires."""
        self.app_credentials = (client_id, client_secret)

    def authorization_code(self, team_id: str, user_id: str) -> str:
        """What Slack puts in the redirect after a user of `team_id` approves the install."""
        with self._lock:
            code = f"code-{team_id}-{next(self._installs)}"
            self._codes[code] = (team_id, user_id)
            return code

    def revoke_team(self, team_id: str) -> None:
        """The app is uninstalled from `team_id`: its tokens answer `token_revoked`."""
        with self._lock:
            for token, team in self._token_team.items():
                if team == team_id:
                    self._revoked.add(token)

    def tokens_of(self, team_id: str) -> list[str]:
        with self._lock:
            return [t for t, team in self._token_team.items() if team == team_id]

    def _oauth_v2_access(self, params: dict[str, Any], request: HttpRequest) -> Answer:
        import base64

        client_id, client_secret = (
            str(params.get("client_id") or ""),
            str(params.get("client_secret") or ""),
        )
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth[6:].strip()).decode("utf-8", "replace")
            client_id, _, client_secret = decoded.partition(":")
        if self.app_credentials is None or (client_id, client_secret) != self.app_credentials:
            return Answer(200, {"ok": False, "error": "invalid_client_id"})
        refreshing = params.get("grant_type") == "refresh_token"
        with self._lock:
            if refreshing:  # token rotation: a refresh token is used once
                team_id = self._refresh.pop(str(params.get("refresh_token") or ""), "")
                if not team_id:
                    return Answer(200, {"ok": False, "error": "invalid_refresh_token"})
                user_id = ""
            else:
                grant = self._codes.pop(str(params.get("code") or ""), None)
                if grant is None:
                    return Answer(200, {"ok": False, "error": "invalid_code"})
                team_id, user_id = grant
            workspace = self._teams.get(team_id)
            if workspace is None:
                return Answer(200, {"ok": False, "error": "invalid_code"})
            number = next(self._installs)
            rotating = self.token_rotation or refreshing
            token = f"xoxe.xoxb-{team_id}-{number}" if rotating else f"xoxb-{team_id}-{number}"
            self._token_team[token] = team_id
            extra: dict[str, Any] = {}
            if rotating:
                refresh = f"xoxe-1-{team_id}-{number}"
                self._refresh[refresh] = team_id
                extra = {"refresh_token": refresh, "expires_in": 43_200}
        team = workspace.team
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": team.app_id,
            "scope": self.team.scopes,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": (
                {"id": team.enterprise_id, "name": team.enterprise_id}
                if team.enterprise_id
                else None
            ),
            "is_enterprise_install": False,
            **extra,
        }
        if not refreshing:
            answer["authed_user"] = {"id": user_id}
        return Answer(200, answer)

    # workspace ---------------------------------------------------------------

    def set_user(
        self,
        user_id: str,
        *,
        locale: str | None = None,
        team_id: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        tz: str | None = None,
        email: str | None = None,
        is_bot: bool | None = None,
        is_admin: bool | None = None,
        is_owner: bool | None = None,
    ) -> User:
        """Describe a user for `users.info`; unset fields keep their value (locale "en-US").
        A user of a team added with `add_team` is set in that team."""
        with self._lock:
            workspace = self._teams.get(team_id or "", self.workspace)
        return workspace.set_user(
            user_id,
            locale=locale,
            team_id=team_id,
            name=name,
            real_name=real_name,
            tz=tz,
            email=email,
            is_bot=is_bot,
            is_admin=is_admin,
            is_owner=is_owner,
        )

    def set_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool | None = None,
        is_member: bool | None = None,
        is_archived: bool | None = None,
        team_id: str | None = None,
    ) -> Channel:
        """Describe a channel (of `team_id` when given, else of the default team, or of the
        team that already has it); posting to one the bot is not in answers
        `not_in_channel`."""
        with self._lock:
            workspace = self._teams.get(team_id or "") or next(
                (w for w in self._teams.values() if w.strict and w.has_channel(channel_id)),
                self.workspace,
            )
        return workspace.set_channel(
            channel_id,
            name=name,
            is_private=is_private,
            is_member=is_member,
            is_archived=is_archived,
        )

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they stand now (after chat.update), oldest first, each with `channel`,
        in every team (a channel's messages are its host team's)."""
        with self._lock:
            workspaces = list(self._teams.values())
        found = [m for w in workspaces for m in w.messages(channel)]
        return sorted(found, key=lambda m: m["ts"])

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            workspaces = list(self._teams.values())
        return next((m for w in workspaces if (m := w.message(channel, ts)) is not None), None)

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            workspaces = list(self._teams.values())
        return next((v for w in workspaces if (v := w.view(view_id)) is not None), None)

    def register(self, method: str, handler: CustomHandler) -> None:
        """Answer `method` (new, or replacing a built-in one) with `handler(params)`: the whole
        JSON body, `ok` included. Token checks, faults and rate limits still apply first."""
        with self._lock:
            self._custom[method] = handler

    # serving -----------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpResponse:
        at = time.monotonic()
        if request.path.startswith(API_PREFIX):
            method = request.path.removeprefix(API_PREFIX)
        elif request.path.startswith(RESPONSE_PREFIX) and request.verb == "POST":
            method = RESPONSE_URL_METHOD
        else:
            return _json_response(404, {"ok": False, "error": "not_found"})
        content_type = request.headers.get("content-type", "")
        try:
            params = parse_params(request.query, request.body, content_type)
        except BadRequestBody as e:
            logger.debug("unparsable %s body: %s", method, e)
            error = "invalid_json" if "json" in content_type else "invalid_form_data"
            params = {"_raw": request.body.decode("utf-8", errors="replace")}
            answer: Answer | None = Answer(200, {"ok": False, "error": error})
        else:
            answer = self._faults.take(method)
        if answer is None:
            answer = self._answer(method, request, params)
        call = Call(
            method=method,
            params=params,
            headers=request.headers,
            at=at,
            status=answer.status,
            response=answer.body,
            path=request.path,
        )
        self._log.add(call)
        logger.debug("%s -> %s %s", method, call.status, call.error or "ok")
        headers = {"x-oauth-scopes": self.team.scopes}
        if answer.retry_after is not None:
            headers["Retry-After"] = str(answer.retry_after)
        return _json_response(answer.status, answer.body, headers)

    def _answer(self, method: str, request: HttpRequest, params: dict[str, Any]) -> Answer:
        """Checks as Slack makes them (method, token, rate limit), then the method's answer."""
        if method == RESPONSE_URL_METHOD:
            return self._answer_response_url(request.path)
        with self._lock:
            custom = self._custom.get(method)
        handler = METHODS.get(method)
        if custom is None and handler is None:
            return Answer(200, {"ok": False, "error": "unknown_method"})
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, request)
        workspace = self.workspace
        if method not in NO_AUTH_METHODS:
            auth_error, workspace = self._auth(request, params)
            if auth_error is not None:
                return Answer(200, {"ok": False, "error": auth_error})
        limited = self._limits.admit(method, str(params.get("channel") or ""))
        if limited is not None:
            return limited
        if custom is not None:
            return Answer(200, custom(params))
        assert handler is not None
        try:
            body = handler(workspace, params)
        except SlackError as e:
            return Answer(200, {"ok": False, "error": e.code})
        return Answer(200, {"ok": True, **body})

    def _answer_response_url(self, path: str) -> Answer:
        with self._lock:
            uses = self._response_uses.get(path, 0) + 1
            self._response_uses[path] = uses
        if uses > RESPONSE_URL_MAX_USES:
            return Answer(404, {"ok": False, "error": "used_url"})
        return Answer(200, {"ok": True})

    def _auth(self, request: HttpRequest, params: dict[str, Any]) -> tuple[str | None, Workspace]:
        """(error, the workspace the token speaks for)."""
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or str(params.get("token") or "")
        if not token:
            return "not_authed", self.workspace
        with self._lock:
            if token in self._revoked:
                return "token_revoked", self.workspace
            team_id = self._token_team.get(token)
            if team_id is not None:
                return None, self._teams[team_id]
        tokens = self._tokens
        if tokens is not None and token not in tokens:
            return "invalid_auth", self.workspace
        return None, self.workspace

    def __repr__(self) -> str:
        where = self.base_url if self._server.running else "stopped"
        return f"SlackStandIn({where})"


def _json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> HttpResponse:
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return HttpResponse(status, json.dumps(body).encode("utf-8"), all_headers)
