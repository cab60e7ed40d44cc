"""The queries behind the screens and the live poll, one by one, on a big database.

    python -m tests.benchmarks.queries [--variants 100000] [--attempts 300000] [--runs 10]
                                       [--json queries.json]

Seeds a fresh SQLite database in a temporary OMNIPOST_HOME (``tests/benchmarks/seeding.py``)
and times each service call the TUI makes, in-process, warm: what the live poll runs every few
seconds (status, alerts, newly finished attempts), a page of variants, and the attempts list
with and without a result filter. A query that reads the whole history shows up here first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import timedelta


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", default="queries.json", help="where to write the figures")
    args = parser.parse_args()

    from omnipost_tui import clock
    from omnipost_tui.services.alerts import current_alerts
    from omnipost_tui.services.attempts import attempts_finished_since, list_attempts
    from omnipost_tui.services.status import status_report
    from omnipost_tui.services.variants import VariantFilter
    from omnipost_tui.tui.screens.variants import load_page
    from tests.benchmarks.seeding import scratch_context, seed_attempts, seed_many

    ctx = scratch_context("queries")
    seed_many(ctx, args.variants)
    seed_attempts(ctx, args.attempts)
    now = clock.now()
    cases: dict[str, Callable[[], object]] = {
        "poll: status counts": lambda: status_report(ctx, with_queue=False),
        "poll: alerts": lambda: current_alerts(ctx, now),
        "poll: attempts just finished": lambda: attempts_finished_since(
            ctx, now - timedelta(seconds=35)
        ),
        "variants: first page": lambda: load_page(ctx, VariantFilter(), None),
        "variants: last page": lambda: load_page(ctx, VariantFilter(), None, from_end=True),
        "attempts: newest 50": lambda: list_attempts(ctx, limit=50),
        "attempts: newest 50 failed": lambda: list_attempts(ctx, result="fail", limit=50),
        "attempts: newest 50 succeeded": lambda: list_attempts(ctx, result="success", limit=50),
    }
    rows = []
    width = max(map(len, cases))
    print(f"{args.variants:,} variants, {args.attempts:,} attempts; median of {args.runs} runs")
    for name, call in cases.items():
        call()  # warm: the pages are in the cache, as they are for a poll every second
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        rows.append({"query": name, "median_ms": statistics.median(times), "max_ms": max(times)})
        print(f"{name.ljust(width)}  {statistics.median(times):7.1f} ms  (max {max(times):.1f})")
    ctx.close()
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump({"variants": args.variants, "attempts": args.attempts, "rows": rows}, out,
                  indent=2)  # fmt: skip
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
