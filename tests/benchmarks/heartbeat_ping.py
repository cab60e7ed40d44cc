"""What does the heartbeat ping cost a sweep? Prints each sweep's duration, per kind of monitor.

Runs the real sweep in-process on a fresh SQLite home (no variants), first with no heartbeat
URL, then against loopback monitors: one that answers at once, one whose port refuses, and one
that accepts the connection and never answers (the sweep must be held no longer than
``PING_TIMEOUT``). Then times ``omnipost doctor --only worker,sweep,attention`` as cron runs it.

    python tests/benchmarks/heartbeat_ping.py [--sweeps 20] [--hung 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Answer(BaseHTTPRequestHandler):
    def _ok(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    do_GET = do_POST = _ok

    def log_message(self, format: str, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed_sweeps(url: str | None, count: int) -> list[float]:
    from omnipost_tui.config import load_settings
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.engine.sweep import sweep
    from omnipost_tui.services.context import open_context

    if url:
        os.environ["OMNIPOST_HEARTBEAT_URL"] = url
    else:
        os.environ.pop("OMNIPOST_HEARTBEAT_URL", None)
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        durations = []
        for _ in range(count):
            started = time.perf_counter()
            sweep(ctx)
            durations.append((time.perf_counter() - started) * 1000)
        return durations
    finally:
        ctx.close()


def _show(label: str, durations: list[float]) -> None:
    print(
        f"{label:<34} n={len(durations):<3} p50 {statistics.median(durations):8.1f} ms"
        f"   max {max(durations):8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=20)
    parser.add_argument("--hung", type=int, default=2, help="sweeps against the silent monitor")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="omnipost-bench-heartbeat-")
    os.environ["OMNIPOST_HOME"] = home
    os.environ["OMNIPOST_TIMEZONE"] = "UTC"
    os.environ["OMNIPOST_QUEUE_URL"] = "memory://"
    import logging

    logging.getLogger("omnipost").setLevel(logging.ERROR)  # the refused pings' warnings

    answering = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=answering.serve_forever, daemon=True).start()
    silent = socket.socket()  # accepts into the backlog, never reads nor answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)

    uuid = "5f0c9e7a-1b2c-4d3e-8f90-123456789abc"
    _timed_sweeps(None, 2)  # migrate the database, warm the imports
    _show("no heartbeat URL", _timed_sweeps(None, args.sweeps))
    monitor = f"http://127.0.0.1:{answering.server_address[1]}/{uuid}"
    _show("monitor answers at once", _timed_sweeps(monitor, args.sweeps))
    _show("port refuses", _timed_sweeps(f"http://127.0.0.1:{_free_port()}/{uuid}", args.sweeps))
    hung = f"http://127.0.0.1:{silent.getsockname()[1]}/{uuid}"
    _show("monitor never answers", _timed_sweeps(hung, args.hung))

    env = {**os.environ, "OMNIPOST_QUEUE_URL": f"sqlite:///{home}/queue.db"}
    command = [sys.executable, "-m", "omnipost_tui", "doctor", "--only", "worker,sweep,attention"]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        runs.append((time.perf_counter() - started) * 1000)
    _show(f"doctor --only … (exit {done.returncode})", runs)
    answering.shutdown()
    silent.close()


if __name__ == "__main__":
    main()
