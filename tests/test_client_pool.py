"""The worker's HTTP clients: one per thread and platform, kept; one TLS context for all."""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading

import httpx

from omnipost_tui.connectors.pool import ClientPool


def _tls_of(client: httpx.Client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_each_thread_keeps_its_own_client_per_platform_and_all_share_one_verifying_tls_context():
    pool = ClientPool()
    mine = pool.client("facebook")
    assert pool.client("facebook") is mine  # kept: its connection stays open between posts
    linkedin = pool.client("linkedin")
    assert linkedin is not mine
    theirs: list[httpx.Client] = []
    thread = threading.Thread(target=lambda: theirs.append(pool.client("facebook")))
    thread.start()
    thread.join(timeout=10)
    assert theirs and theirs[0] is not mine  # a thread never shares a client
    contexts = {id(_tls_of(c)) for c in (mine, linkedin, theirs[0])}
    assert len(contexts) == 1  # the CA bundle was loaded once
    tls = _tls_of(mine)
    assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname  # still verified
    pool.close()
    assert mine.is_closed and theirs[0].is_closed
    assert pool.client("facebook") is not mine  # closed clients are replaced
    pool.close()


PREPARE = """
import sys
from omnipost_tui.connectors.pool import ClientPool
pool = ClientPool()
before = "httpcore" in sys.modules
pool.prepare()
after = "httpcore" in sys.modules
prepared = pool._tls
client = pool.client("facebook")
print(before, after, client._transport._pool._ssl_context is prepared)
"""


def test_prepare_does_the_first_requests_imports_and_loads_the_ca_bundle_before_work_comes():
    # The worker prepares before it takes work: the first post of a burst must not wait while
    # its thread (and every other) imports httpcore and reads the CA bundle.
    result = subprocess.run(
        [sys.executable, "-c", PREPARE], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["False", "True", "True"], result.stderr
