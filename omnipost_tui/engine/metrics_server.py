"""``omnipost worker --metrics-port``: ``GET /metrics`` from a small thread beside the consumer.

A stdlib ThreadingHTTPServer in daemon threads: a scrape only reads (services/metrics.py), each
in its own thread, so a slow one never holds up publishing, and a failing one is one log line.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from omnipost_tui.errors import OmniPostError
from omnipost_tui.services.context import Context
from omnipost_tui.services.metrics import CONTENT_TYPE, metrics_text

log = logging.getLogger("omnipost.engine.metrics")


class MetricsPortUnavailable(OmniPostError):
    """The port for ``--metrics-port`` cannot be listened on (in use, not allowed)."""


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def version_string(self) -> str:
        return "omnipost"  # not the Python version: nothing a scraper needs

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self._send(404, b"not found; the metrics are at /metrics\n")
            return
        try:
            body = metrics_text(self.server.ctx).encode()
        except Exception as exc:  # collect() reports outages itself; this is a bug
            log.warning("metrics scrape failed: %s", type(exc).__name__, exc_info=exc)
            self._send(500, b"metrics could not be collected; see the worker's log\n")
            return
        self._send(200, body, CONTENT_TYPE)

    def do_HEAD(self) -> None:
        self._send(404 if self.path.split("?", 1)[0] != "/metrics" else 200, b"")

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Prometheus scrapes every 15 s: a line per request would bury the publishing log.
        log.debug("metrics: " + format, *args)


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx: Context, host: str, port: int) -> None:
        self.ctx = ctx
        if ":" in host:  # an IPv6 address (::1, ::); the class attribute says IPv4
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = (
                    f"--metrics-port {port} on {host} is in use; choose another port or stop "
                    "what listens there"
                )
            else:
                message = (
                    f"cannot listen on {host} port {port} for --metrics-port "
                    f"({exc.strerror or exc}); check --metrics-host and the port"
                )
            raise MetricsPortUnavailable(message) from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host!s}]" if self.address_family == socket.AF_INET6 else str(host)
        return f"http://{shown}:{port}/metrics"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="omnipost-metrics", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
