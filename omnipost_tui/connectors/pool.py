"""One httpx client per thread and platform, kept for every request that thread sends there.

A new ``httpx.Client`` per publish costs a TLS context (loading the CA bundle: several ms of
CPU, under the GIL that every worker thread shares) and, against the real platforms, a new TCP
connection and TLS handshake. A worker thread publishes one post at a time, so a client of its
own per platform is never shared: no pool contention, and its connection is kept alive between
the thread's posts. ``close`` (when the worker stops) closes them all. The TLS context itself
(the CA bundle, read and parsed) is made once for all of them: sixteen threads starting a burst
on two platforms would otherwise each load it, 32 times in the burst's first second.
"""

from __future__ import annotations

import ssl
import threading

import httpx


class ClientPool:
    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []
        self._tls: ssl.SSLContext | None = None

    def prepare(self) -> None:
        """Do now what the first request would do while it is due: load the CA bundle, and
        import the transport (httpx imports httpcore when it makes its first client: ~50 ms
        that the first post would be late by, every thread of a burst waiting on the import)."""
        httpx.HTTPTransport(verify=self._tls_context()).close()

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()  # as httpx.Client() would make it
            return self._tls

    def client(self, platform: str) -> httpx.Client:
        """This thread's client for ``platform``, made on first use. Each request gives its own
        timeout (the connectors pass the configured one), so the client needs none."""
        clients: dict[str, httpx.Client] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        client = clients.get(platform)
        if client is None or client.is_closed:
            client = clients[platform] = httpx.Client(verify=self._tls_context())
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every client made so far; a thread that publishes later gets a new one."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
