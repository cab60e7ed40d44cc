"""``python -m omnipost_tui.sandbox``: serve the fake platforms in the foreground, and say how to
point OmniPost at them."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from omnipost_tui.sandbox import payloads
from omnipost_tui.sandbox.payloads import DEMO_PAGES, normalize_behaviour
from omnipost_tui.sandbox.server import SandboxServer


def _parse_behaviour(value: str) -> tuple[str, str]:
    account, sep, name = value.rpartition("=")
    if not sep or not account:
        raise argparse.ArgumentTypeError(f"expected ACCOUNT=BEHAVIOUR, got {value!r}")
    try:
        return account, normalize_behaviour(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m omnipost_tui.sandbox",
        description="Serve fake Facebook Graph and LinkedIn APIs until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument(
        "--behaviour",
        action="append",
        type=_parse_behaviour,
        default=[],
        metavar="ACCOUNT=BEHAVIOUR",
        help="explicit behaviour for an account, repeatable; one of "
        + ", ".join(payloads.BEHAVIOURS),
    )
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument(
        "--answer-delay",
        type=float,
        default=0.0,
        help="seconds every other publish waits before it is answered (default 0)",
    )
    parser.add_argument(
        "--list-delay",
        type=float,
        default=0.0,
        help="seconds before a new post shows up when an account's posts are read (default 0)",
    )
    parser.add_argument(
        "--image-processing-seconds",
        type=float,
        default=0.2,
        help="seconds LinkedIn takes to process an uploaded image (default 0.2)",
    )
    return parser


# Any page id and any token are accepted; these are the ones the README's walkthrough uses. The
# page is one the sandbox's user manages (/me/accounts), so refreshing its token works too.
EXAMPLE_PAGE = DEMO_PAGES[0]
EXAMPLE_TOKEN = "sandbox-token"


def omnipost_settings(url: str) -> dict[str, str]:
    """The ``OMNIPOST_*`` settings that point OmniPost at a sandbox serving at ``url``: both
    platforms (their APIs and their OAuth authorize pages), and app credentials (the sandbox
    accepts any) so that connecting, checking and refreshing tokens work as they would against
    the real platforms."""
    return {
        "OMNIPOST_FACEBOOK_GRAPH_URL": url,
        "OMNIPOST_FACEBOOK_OAUTH_URL": url,
        "OMNIPOST_LINKEDIN_API_URL": url,
        "OMNIPOST_LINKEDIN_OAUTH_URL": url,
        "OMNIPOST_FACEBOOK_APP_ID": "sandbox-app",
        "OMNIPOST_FACEBOOK_APP_SECRET": "sandbox-app-secret",
        "OMNIPOST_LINKEDIN_CLIENT_ID": "sandbox-client",
        "OMNIPOST_LINKEDIN_CLIENT_SECRET": "sandbox-client-secret",
    }


def how_to_use(url: str) -> str:
    """What ``python -m omnipost_tui.sandbox`` prints after its URL: shell lines to paste."""
    page_id, page_name = EXAMPLE_PAGE
    keywords = ", ".join(payloads.KEYWORD_ORDER)
    return "\n".join(
        [
            "# Stands in for Facebook and LinkedIn until stopped (Ctrl-C, or kill its job).",
            "# Point OmniPost at it (any app id and secret work here):",
            *(f"export {name}={value}" for name, value in omnipost_settings(url).items()),
            f"# Any page id or author URN and any token are accepted, e.g. page {page_id}",
            f"# ({page_name}) with the token {EXAMPLE_TOKEN}. An id containing one of",
            f"# {keywords} answers that way.",
            "# Connecting with OAuth works too: its authorize pages have an Approve and a Deny",
            "# link, and it knows the codes and tokens it issued.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox in the foreground; print ``SANDBOX_URL=…``, then the settings that point
    OmniPost at it; exit 0 on SIGINT/TERM."""
    args = _build_parser().parse_args(argv)
    server = SandboxServer(
        host=args.host,
        port=args.port,
        behaviours=dict(args.behaviour),
        slow_seconds=args.slow_seconds,
        hang_seconds=args.hang_seconds,
        answer_delay_seconds=args.answer_delay,
        list_delay_seconds=args.list_delay,
        image_processing_seconds=args.image_processing_seconds,
    )
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # POSIX: block the stop signals before any thread exists (threads inherit the mask) and
    # wait for them synchronously: no handler, no race, no KeyboardInterrupt traceback.
    use_sigwait = (
        hasattr(signal, "pthread_sigmask")
        and hasattr(signal, "sigwait")
        and threading.current_thread() is threading.main_thread()
    )
    old_mask: set[int | signal.Signals] | None = None
    if use_sigwait:
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        print(f"SANDBOX_URL={server.url}\n{how_to_use(server.url)}", flush=True)
        if use_sigwait:
            signal.sigwait(stop_signals)
        else:  # pragma: no cover - platforms without sigwait (Windows)
            try:
                while True:
                    time.sleep(1.0)
            except KeyboardInterrupt:
                pass
    finally:
        server.stop()
        if old_mask is not None:
            # Swallow a second stop signal that arrived meanwhile, so unblocking cannot kill us.
            while signal.sigpending() & stop_signals:
                signal.sigwait(stop_signals)
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    return 0
