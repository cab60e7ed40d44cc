"""Waiting on 127.0.0.1 for the browser to come back from a platform's consent page.

``omnipost account connect --listen``: the redirect URI points at ``http://localhost:PORT/…``
(on this machine, or through ``ssh -L PORT:127.0.0.1:PORT``). Exactly one request is taken: one
on the callback path that carries this attempt's ``state``. It gets a short page saying the tab
can be closed; anything else (another path, another state, a favicon) gets a 404 or a 400 and
the wait goes on. The address is bound on 127.0.0.1 only: nothing outside this machine reaches
it.
"""

from __future__ import annotations

import errno
import html
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from omnipost_tui.errors import ValidationError

log = logging.getLogger("omnipost.connect")

# Names a browser on this machine reaches the listener by.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})

_DONE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>OmniPost</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>{title}</h1><p>{body}</p></body></html>
"""


class PortBusy(ValidationError):
    """The redirect URI's port is taken on this machine."""

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} on this machine is in use (another program, or another connect still "
            "waiting); paste the address instead, or free the port"
        )
        self.port = port


class RedirectListener:
    """One loopback HTTP server that waits for the redirect of one connection attempt."""

    def __init__(self, redirect_uri: str, state: str, *, port: int | None = None) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            raise ValidationError(
                f"the redirect URI {redirect_uri} is not an http address on this machine, so "
                "nothing here can wait for it; paste the address instead (or set "
                "oauth_redirect_uri to http://localhost:PORT/callback in the apps and here)"
            )
        self.path = parts.path or "/"
        self.port = port if port is not None else (parts.port or 80)
        self._lock = threading.Lock()  # the server answers on several threads
        self._state = state
        self._received: str | None = None
        self._arrived = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> RedirectListener:
        try:
            server = _Server(("127.0.0.1", self.port), self)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(self.port) from None
            raise ValidationError(f"cannot listen on {self.address}: {exc.strerror}") from None
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="omnipost-redirect-listener",
            daemon=True,
        )
        self._thread.start()
        return self

    def wait(self, timeout: float) -> str:
        """The address the browser was sent to (path and query), once it came; ValidationError
        after ``timeout`` seconds."""
        if not self._arrived.wait(timeout):
            raise ValidationError(
                f"no browser came back to http://localhost:{self.port}{self.path} within "
                f"{timeout:g}s; nothing was connected. Run the command again (over SSH, forward "
                f"the port first: ssh -L {self.port}:127.0.0.1:{self.port} …), or leave out "
                "--listen and paste the address"
            )
        assert self._received is not None
        return self._received

    def received(self) -> str | None:
        """The redirect, if it came already (for callers that poll)."""
        return self._received if self._arrived.is_set() else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RedirectListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _take(self, path: str, query: str) -> tuple[int, str, str]:
        """(status, title, text) for one request; keeps the first that is the redirect."""
        if path != self.path:
            return 404, "Not here", "This address is not the one OmniPost waits on."
        params = dict(parse_qsl(query))
        if params.get("state") != self._state:
            return (
                400,
                "Not this connection",
                "This link belongs to another connection attempt; use the one OmniPost printed.",
            )
        with self._lock:
            if self._arrived.is_set():
                return 200, "Already received", "OmniPost has it already; you can close this tab."
            self._received = f"{path}?{query}"
            self._arrived.set()
        if params.get("error"):
            return (
                200,
                "Not connected",
                "You did not approve the connection. You can close this tab; OmniPost says "
                "what to do next.",
            )
        return 200, "Connected", "OmniPost has what it needs: you can close this tab."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], listener: RedirectListener) -> None:
        self.listener = listener
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's name (socket.getfqdn), which can stall.
        TCPServer.server_bind(self)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the code: never logged.
        log.debug("redirect listener: %s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        status, title, body = self.server.listener._take(split.path, split.query)
        page = _DONE_PAGE.format(title=html.escape(title), body=html.escape(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(page)
