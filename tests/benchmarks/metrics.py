"""How long does `omnipost metrics` take on a big database (100,000 variants, 300,000 attempts)?

    python -m tests.benchmarks.metrics [--variants 100000] [--attempts 300000] [--runs 5] [--json]

Seeds a fresh SQLite database in a temporary OMNIPOST_HOME (bulk inserts of rows shaped as the
services write them; the last hour holds 1,000 first attempts that succeeded, for the lateness
query), then times the collection in-process (what a scrape of `worker --metrics-port` costs)
and the whole `omnipost metrics` command as a process (what cron runs), and prints the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from omnipost_tui import clock
from omnipost_tui.engine.queue import open_queue
from tests.benchmarks.seeding import seed_attempts, seed_many


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnipost-bench-") as home:
        os.environ["OMNIPOST_HOME"] = home
        from omnipost_tui.config import load_settings
        from omnipost_tui.services.context import open_context
        from omnipost_tui.services.metrics import collect, render

        settings = load_settings()
        ctx = open_context(settings, open_queue=open_queue)
        started = time.perf_counter()
        seed_many(ctx, args.variants, start=clock.now() - timedelta(days=200))
        seed_attempts(ctx, args.attempts)
        seeded = time.perf_counter() - started

        in_process = []
        for _ in range(args.runs):
            started = time.perf_counter()
            text = render(collect(ctx, settings))
            in_process.append(time.perf_counter() - started)
        assert "omnipost_database_up 1" in text, text
        ctx.close()

        command = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "omnipost_tui", "metrics"],
                capture_output=True,
                text=True,
                check=True,
            )
            command.append(time.perf_counter() - started)
        assert "omnipost_database_up 1" in done.stdout, done.stdout

    figures = {
        "variants": args.variants,
        "attempts": args.attempts,
        "seed_seconds": round(seeded, 1),
        "collect_median_ms": round(statistics.median(in_process) * 1000, 1),
        "collect_max_ms": round(max(in_process) * 1000, 1),
        "command_median_ms": round(statistics.median(command) * 1000, 1),
        "command_max_ms": round(max(command) * 1000, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{args.variants:,} variants, {args.attempts:,} attempts: collecting "
            f"{figures['collect_median_ms']} ms (median of {args.runs}, max "
            f"{figures['collect_max_ms']}); `omnipost metrics` as a process "
            f"{figures['command_median_ms']} ms (max {figures['command_max_ms']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
