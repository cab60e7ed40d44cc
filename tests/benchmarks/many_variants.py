"""100,000 variants: how fast does the variants screen open and page?

    python -m tests.benchmarks.many_variants [--variants 100000] [--attempts 300000]
                                             [--idle-seconds 20] [--json many_variants.json]

Seeds a fresh SQLite database in a temporary OMNIPOST_HOME (bulk inserts of real rows, the
same shape the services write: ``tests/benchmarks/seeding.py``), then times, with the real
app in Textual's headless mode: opening the variants screen, the next page, the last page, and
a filtered first page; then the app's resident memory and the CPU of its idle live poll
(``--idle-seconds``). Prints the figures; they also go to ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from omnipost_tui.services.context import Context
from tests.benchmarks.seeding import scratch_context, seed_attempts, seed_many


class _Paints:
    """When the variants screen first put a page in its table, and when the app first sent the
    screen to the terminal after that: what the user sees. (Pilot's own ``press`` returns only
    once the app is idle, 100–200 ms later, which is not a wait the user has.)"""

    def __init__(self) -> None:
        from textual.app import App

        from omnipost_tui.tui.screens.variants import VariantsScreen

        self.expect = ""
        self.shown_at: float | None = None
        self.painted_at: float | None = None
        show, display = VariantsScreen._show, App._display
        paints = self

        def shown(screen, *args, **kwargs):
            show(screen, *args, **kwargs)
            # The page asked for (a live refresh of the one before does not count).
            if paints.shown_at is None and paints.expect in str(
                screen.query_one("#position").render()
            ):
                paints.shown_at = time.perf_counter()

        def displayed(app, screen, renderable):
            display(app, screen, renderable)
            if paints.shown_at is not None and paints.painted_at is None and renderable:
                paints.painted_at = time.perf_counter()

        VariantsScreen._show = shown  # type: ignore[method-assign]
        App._display = displayed  # type: ignore[method-assign]

    def start(self, expect: str) -> float:
        """From now, wait for the page whose position line says ``expect``."""
        self.expect = expect
        self.shown_at = self.painted_at = None
        return time.perf_counter()


async def _measure(ctx: Context, count: int) -> dict[str, list[float]]:
    """Time from the key press until the page's rows are in the table and painted."""
    from omnipost_tui.services.variants import VariantFilter
    from omnipost_tui.tui.app import OmniPostApp

    paints = _Paints()
    timings: dict[str, list[float]] = {"open": [], "next page": [], "last page": [], "filtered": []}
    for _ in range(5):
        app = OmniPostApp(ctx, start_mode="calendar")
        async with app.run_test(size=(120, 40)) as pilot:
            await _until_shown(pilot, "", widget="Calendar")
            steps = (
                ("open", lambda: pilot.press("2"), "1–100 of"),
                ("next page", lambda: pilot.press("]"), "101–200 of"),
                ("last page", lambda: pilot.press("G"), f"–{count:,} of"),
            )
            for label, action, shown in steps:
                started = paints.start(shown)
                await action()
                await _until_shown(pilot, shown)
                assert paints.painted_at is not None, f"{label}: never painted"
                timings[label].append(paints.painted_at - started)
            started = paints.start("(filtered")
            app.screen.show_filter(VariantFilter(statuses=("failed",)))
            await _until_shown(pilot, "(filtered")
            assert paints.painted_at is not None, "filtered: never painted"
            timings["filtered"].append(paints.painted_at - started)
    return timings


def _rss_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


async def _resting(ctx: Context, count: int, seconds: float) -> tuple[int, float]:
    """The app's resident memory with the last page shown, and the CPU its live poll uses
    while nothing happens (percent of one core over ``seconds``)."""
    from omnipost_tui.tui.app import OmniPostApp

    app = OmniPostApp(ctx, start_mode="calendar")
    async with app.run_test(size=(120, 40)) as pilot:
        await _until_shown(pilot, "", widget="Calendar")
        await pilot.press("2")
        await _until_shown(pilot, "1–100 of")
        await pilot.press("G")
        await _until_shown(pilot, f"–{count:,} of")
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        busy = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        return _rss_mb(), busy


async def _until_shown(pilot, text: str, timeout: float = 10.0, widget: str = "") -> None:
    from textual.widgets import Label

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        screen = pilot.app.screen
        if widget and type(screen).__name__.startswith(widget):
            await pilot.pause()
            return
        labels = screen.query("#position").results(Label)
        if any(text in str(label.render()) for label in labels):
            await pilot.pause()  # and painted
            return
        await pilot.pause(0.002)
    raise TimeoutError(f"never showed {text!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=300_000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--json", default="many_variants.json", help="where to write the figures")
    args = parser.parse_args()
    ctx = scratch_context("tui")
    started = time.perf_counter()
    seed_many(ctx, args.variants)
    seed_attempts(ctx, args.attempts)
    print(
        f"seeded {args.variants:,} variants and {args.attempts:,} attempts in "
        f"{time.perf_counter() - started:.1f} s"
    )
    timings = asyncio.run(_measure(ctx, args.variants))
    figures: dict[str, object] = {"variants": args.variants, "attempts": args.attempts}
    for label, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        print(
            f"{label:>10}: median {statistics.median(ms):6.0f} ms   "
            f"min {ms[0]:6.0f} ms   max {ms[-1]:6.0f} ms   ({len(ms)} runs)"
        )
        figures[f"{label} ms"] = {"median": statistics.median(ms), "all": ms}
    rss, idle = asyncio.run(_resting(ctx, args.variants, args.idle_seconds))
    print(f"resident memory {rss} MB; idle live poll {idle:.1f} % of one core")
    figures.update({"resident MB": rss, "idle CPU %": round(idle, 2), "cpus": os.cpu_count()})
    ctx.close()
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(figures, out, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
