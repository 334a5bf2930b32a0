"""A small threaded HTTP server on localhost that hands each request to one function."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    verb: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


App = Callable[[HttpRequest], HttpResponse]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections when 20+ clients post at once

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.connections: set[socket.socket] = set()  # open keep-alive connections
        self.lock = threading.Lock()

    def close_connections(self) -> None:
        """End every open connection: a stopped server answers nothing, not even on a
        connection a client's pool kept alive."""
        with self.lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Slack's API serves: a client's connection pool reuses its connections
    # (a connection per call would cost both sides a handshake and this server a thread).
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle kept-alive connection is held

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body(headers)
        except ValueError as e:
            self.close_connection = True  # what is left of the body cannot be skipped
            self._send(HttpResponse(400, str(e).encode(), {"Content-Type": "text/plain"}))
            return
        request = HttpRequest(self.command, parts.path, parts.query, headers, body)
        try:
            response = self.server.app(request)
        except Exception:
            logger.exception("stand-in failed on %s %s", self.command, self.path)
            response = HttpResponse(500, b"stand-in error", {"Content-Type": "text/plain"})
        self._send(response)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(headers.get("content-length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError(f"bad content-length {length}")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers
                    continue
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise ValueError("chunked body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class LocalHttpServer:
    """Serve `app` on host:port (port 0 picks a free one) from a daemon thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._address[0]

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("server already started")
        server = _Server(self._address, self._app)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-stand-in:{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
