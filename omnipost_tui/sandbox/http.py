"""The sandbox's HTTP plumbing: a threading server on a loopback port and the handler that turns
each request into an ``Incoming`` for ``SandboxServer`` to answer (sandbox/server.py)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from omnipost_tui.sandbox.payloads import Reply, json_reply

_log = logging.getLogger(__name__)

# Room for a photo at Facebook's limit (about 10 MB) in a multipart body, and then some.
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class Incoming:
    """A parsed HTTP request, independent of the handler object."""

    method: str
    path: str
    segments: list[str]
    query: dict[str, str]
    headers: Message
    body: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()

    def json_body(self) -> Any:
        """The body decoded as JSON; ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8") or "null")

    def params(self) -> dict[str, str]:
        """Query parameters overlaid with a form-encoded or JSON object body.

        Raises ValueError when the body claims to be JSON but is not a JSON object.
        """
        merged = dict(self.query)
        ctype = self.content_type()
        if ctype == "application/json" or ctype.endswith("+json"):
            data = self.json_body() if self.body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("JSON body is not an object")
            merged.update({str(k): _as_text(v) for k, v in data.items() if v is not None})
        elif self.body:
            merged.update(parse_pairs(self.body.decode("utf-8", errors="replace")))
        return merged


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def parse_pairs(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default (True) makes server_close() join every handler thread, hung ones included.
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], respond: Callable[[Incoming], Reply | None]
    ) -> None:
        self.respond = respond
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out (hang/slow accounts) cause broken pipes: not worth a traceback.
        _log.debug("sandbox: error while handling a request", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    # HTTP/1.0: one request per connection, so no idle keep-alive connection outlives stop().
    protocol_version = "HTTP/1.0"
    server_version = "OmniPostSandbox/1.0"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry ?access_token=…: log only the method and the path.
        _log.debug("sandbox: %s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BodyError as exc:
            self._send(json_reply(exc.status, {"error": str(exc)}))
            return
        req = Incoming(
            method=self.command,
            path=split.path,
            segments=[unquote(part) for part in split.path.split("/") if part],
            query=parse_pairs(split.query),
            headers=self.headers,
            body=body,
        )
        reply = self.server.respond(req)
        if reply is None:
            self.close_connection = True
            return
        self._send(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _BodyError(400, "invalid Content-Length") from None
        if size < 0 or size > MAX_BODY_BYTES:
            raise _BodyError(413, "request body too large")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65_537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, "invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(65_537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
