"""A local stand-in for Partner Center, Microsoft Graph and the Entra ID token endpoint.

A Starlette app served by uvicorn in a thread on 127.0.0.1. It records every request and answers
from replies queued by the test; the token endpoint issues `token-1`, `token-2`, ... by default.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TENANT = "11111111-2222-3333-4444-555555555555"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class StandIn:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._tokens_issued = 0
        self.token_lifetime = 3600
        self.rotate_refresh_token = False
        app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._endpoint,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                )
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.01)
        self.port: int = self._server.servers[0].sockets[0].getsockname()[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, method: str, path: str, reply: Reply, *, times: int = 1) -> None:
        with self._lock:
            self._replies[(method, path)].extend(reply for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._replies.clear()
            self._tokens_issued = 0
            self.token_lifetime = 3600
            self.rotate_refresh_token = False

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method)
                and (path is None or request.path == path)
            ]

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        recorded = Recorded(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(recorded)
            queue = self._replies.get((request.method, request.url.path))
            reply = queue.popleft() if queue else None
        if reply is None:
            reply = self._default(recorded)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        content = b"" if reply.body is None else json.dumps(reply.body).encode()
        return Response(
            content, status_code=reply.status, headers=reply.headers, media_type="application/json"
        )

    def _default(self, request: Recorded) -> Reply:
        if request.method == "POST" and request.path == TOKEN_PATH:
            with self._lock:
                self._tokens_issued += 1
                number = self._tokens_issued
            body: dict[str, Any] = {
                "token_type": "Bearer",
                "access_token": f"token-{number}",
                "expires_in": self.token_lifetime,
            }
            if self.rotate_refresh_token:
                body["refresh_token"] = f"refresh-{number}"
            return Reply(body=body)
        return Reply(404, {"code": 404, "description": f"no stand-in reply for {request.path}"})
