"""How close to its minute does a post go out? Prints the lateness distribution.

Runs a real ``omnipost worker`` process against the loopback sandbox, schedules variants a few
seconds apart, and compares each variant's ``scheduled_at`` with the moment the sandbox
received the request.

    python tests/benchmarks/bench_on_time.py [--variants 40] [--spacing 0.37]
                                             [--queue-url redis://127.0.0.1:6379/0]
                                             [--json bench_on_time.json]

The issue's case, 200 variants over two minutes: ``--variants 200 --spacing 0.6``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--spacing", type=float, default=0.37, help="seconds between variants")
    parser.add_argument("--queue-url", help="default: the SqliteHuey file")
    parser.add_argument("--database-url", help="default: the SQLite file")
    parser.add_argument("--json", default="bench_on_time.json", help="where to write the figures")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="omnipost-bench-")
    os.environ["OMNIPOST_HOME"] = home
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        os.environ["OMNIPOST_FACEBOOK_GRAPH_URL"] = sandbox.url
        os.environ["OMNIPOST_LINKEDIN_API_URL"] = sandbox.url
        if args.queue_url:
            os.environ["OMNIPOST_QUEUE_URL"] = args.queue_url
            os.environ["OMNIPOST_QUEUE_NAME"] = f"bench-{os.getpid()}"
        if args.database_url:
            os.environ["OMNIPOST_DATABASE_URL"] = args.database_url

        from omnipost_tui.config import load_settings
        from omnipost_tui.services.accounts import add_account
        from omnipost_tui.services.brands import add_brand
        from omnipost_tui.services.context import open_context
        from omnipost_tui.services.posts import add_post
        from omnipost_tui.services.variants import add_variant, get_variant

        ctx = open_context(load_settings(), open_queue=open_queue)
        brand = add_brand(ctx, f"Bench {os.getpid()}").id
        page = add_account(
            ctx,
            brand=brand,
            platform="facebook",
            external_id=f"bench-{os.getpid()}",
            name="Bench Page",
            access_token="bench-token-not-secret",
        ).id
        li = add_account(
            ctx,
            brand=brand,
            platform="linkedin",
            external_id=f"urn:li:organization:{os.getpid()}",
            name="Bench LinkedIn",
            access_token="bench-token-not-secret",
        ).id
        post = add_post(ctx, brand=brand, title="Bench", text="On time?").id

        worker = subprocess.Popen(
            [sys.executable, "-m", "omnipost_tui", "worker"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2)  # let the consumer start before the first variant is due
            start = datetime.now(UTC) + timedelta(seconds=3)
            ids = [
                add_variant(
                    ctx,
                    post=post,
                    account=page if n % 2 else li,
                    at=start + timedelta(seconds=args.spacing * n),
                ).id
                for n in range(args.variants)
            ]
            deadline = time.monotonic() + 60 + args.spacing * args.variants
            while len(sandbox.posts) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=30)

        received = {p.external_post_id: p.received_at for p in sandbox.posts}
        lateness = []
        early = 0
        for variant_id in ids:
            variant = get_variant(ctx, variant_id)
            if variant.external_post_id not in received:
                print(f"variant {variant_id} not published: {variant.status} {variant.last_error}")
                continue
            delta = (received[variant.external_post_id] - variant.scheduled_at).total_seconds()
            early += delta < 0
            lateness.append(delta * 1000)
        ctx.close()

    queue = args.queue_url or "sqlite (default)"
    print(f"queue: {queue}; {len(lateness)}/{len(ids)} published; {early} early")
    figures: dict[str, object] = {"queue": queue, "variants": len(ids), "early": early,
                                  "published": len(lateness)}  # fmt: skip
    if lateness:
        lateness.sort()
        p95 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.95))]
        p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
        print(
            "lateness ms (scheduled_at -> request received): "
            f"min {lateness[0]:.0f}  median {statistics.median(lateness):.0f}  "
            f"p95 {p95:.0f}  p99 {p99:.0f}  max {lateness[-1]:.0f}"
        )
        figures.update(min_ms=lateness[0], median_ms=statistics.median(lateness), p95_ms=p95,
                       p99_ms=p99, max_ms=lateness[-1])  # fmt: skip
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(figures, out, indent=2)
    print(f"wrote {args.json}")
    return 0 if len(lateness) == len(ids) and not early else 1


if __name__ == "__main__":
    raise SystemExit(main())
