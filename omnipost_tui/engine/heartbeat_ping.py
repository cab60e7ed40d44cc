"""The dead man's switch: after each sweep, tell a monitor outside that one ran, and how it went.

The worker's own alerts cannot report that the worker is gone; a monitor that expects a ping
every minute can, by the ping not coming (healthchecks.io, Uptime Kuma's push monitors, any
cron monitor that takes a request). ``OMNIPOST_HEARTBEAT_URL`` names it, and
``OMNIPOST_HEARTBEAT_STYLE`` how it wants the outcome:

- ``healthchecks``: POST the summary to ``URL`` when the sweep is well, to ``URL/fail`` when not;
- ``uptime-kuma``: GET ``URL?status=up|down&msg=SUMMARY&ping=MS`` (the sweep's duration in ms),
  replacing the ``status``, ``msg`` and ``ping`` the push URL Kuma shows already carries;
- ``plain``: POST the summary to ``URL``, beginning with ``ok:`` or ``fail:``.

"Not well" is what someone should be paged for: the sweep could not run, or variants wait for a
human (failed or unconfirmed: the same as doctor's ``attention`` check), so the monitor is down
until someone has looked. A ping never holds up or breaks the sweep: it gets ``PING_TIMEOUT``
seconds in all (name resolution included), and whatever goes wrong is one warning line that
shows only where the URL leads (its path and query are the credential).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import httpx

from omnipost_tui import __version__
from omnipost_tui.config import Settings
from omnipost_tui.errors import OmniPostError
from omnipost_tui.redact import mask_url_path, redact_text
from omnipost_tui.services.context import Context
from omnipost_tui.services.variants import count_needing_attention

log = logging.getLogger("omnipost.engine.heartbeat")

# Seconds a ping may take in all. The sweep runs every minute on one of the worker's threads:
# a monitor that is slow to answer must not hold that thread for long.
PING_TIMEOUT = 5.0
# Uptime Kuma shows msg in its list; healthchecks.io keeps the body. One short line is enough.
MAX_SUMMARY = 200


@dataclass(frozen=True)
class Outcome:
    """What a sweep tells the monitor."""

    ok: bool
    summary: str  # one line
    duration_ms: int  # how long the sweep took (Uptime Kuma shows it as the response time)


def outcome_of_sweep(
    ctx: Context, *, dispatched: int, recovered: int, missed: int, duration_ms: int
) -> Outcome:
    """A sweep that ran: well unless variants wait for a human."""
    done = f"{dispatched} queued, {recovered} recovered, {missed} missed"
    try:
        waiting = count_needing_attention(ctx)
    except Exception as exc:
        problem = f"could not count the variants waiting for a human: {_why(exc)}"
        return Outcome(False, f"sweep ran ({done}); {problem}", duration_ms)
    if waiting:
        return Outcome(
            False,
            f"{waiting.failed} failed, {waiting.unconfirmed} unconfirmed variant(s) wait for a "
            f"human (omnipost failed); sweep: {done}",
            duration_ms,
        )
    return Outcome(True, f"sweep ok: {done}", duration_ms)


def outcome_of_crash(exc: BaseException, duration_ms: int) -> Outcome:
    """A sweep that could not run."""
    return Outcome(False, f"sweep could not run: {_why(exc)}", duration_ms)


def _why(exc: BaseException) -> str:
    # Our own errors are written for the user; anything else may quote a connection string.
    if isinstance(exc, OmniPostError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    return f"{type(exc).__name__} (see the worker's log)"


def build_request(url: str, style: str, outcome: Outcome) -> httpx.Request:
    """The request ``style`` expects for ``outcome``."""
    summary = " ".join(outcome.summary.split())[:MAX_SUMMARY]
    headers = {"User-Agent": f"omnipost/{__version__}"}
    target = httpx.URL(url)
    if style == "uptime-kuma":
        params = [
            (key, value)
            for key, value in target.params.multi_items()
            if key not in ("status", "msg", "ping")
        ]
        params += [
            ("status", "up" if outcome.ok else "down"),
            ("msg", summary),
            ("ping", str(outcome.duration_ms)),
        ]
        return httpx.Request("GET", target.copy_with(params=params), headers=headers)
    headers["Content-Type"] = "text/plain; charset=utf-8"
    if style == "plain":
        body = f"{'ok' if outcome.ok else 'fail'}: {summary}"
        return httpx.Request("POST", target, content=body.encode(), headers=headers)
    if not outcome.ok:
        target = target.copy_with(path=target.path.rstrip("/") + "/fail")
    return httpx.Request("POST", target, content=summary.encode(), headers=headers)


def ping(settings: Settings, outcome: Outcome) -> bool:
    """Send ``outcome`` to the heartbeat URL, if one is set; True when the monitor took it.

    Never raises and never waits longer than ``PING_TIMEOUT``: the request runs on a thread of
    its own, because httpx's timeouts do not cover name resolution.
    """
    url = settings.heartbeat_url
    if not url:
        return False
    shown = mask_url_path(url)
    result: list[str | None] = []  # the thread's answer: None when delivered, else why not
    sender = threading.Thread(
        target=lambda: result.append(_send(url, settings.heartbeat_style, outcome)),
        name="omnipost-heartbeat-ping",
        daemon=True,  # a ping stuck in name resolution must not keep the worker from exiting
    )
    sender.start()
    sender.join(PING_TIMEOUT)
    problem = result[0] if result else f"no answer within {PING_TIMEOUT:g} s"
    if problem is None:
        log.debug("heartbeat ping sent to %s (%s)", shown, "ok" if outcome.ok else "fail")
        return True
    # One line and no traceback: the monitor will notice the missing ping on its own.
    log.warning("heartbeat ping to %s failed: %s", shown, _without_secrets(problem, url))
    return False


def _send(url: str, style: str, outcome: Outcome) -> str | None:
    """Why the ping did not get through, or None when it did."""
    try:
        request = build_request(url, style, outcome)
        with httpx.Client(timeout=PING_TIMEOUT, follow_redirects=True) as client:
            response = client.send(request)
    except httpx.TimeoutException:
        return f"no answer within {PING_TIMEOUT:g} s"
    except httpx.HTTPError as exc:  # DNS, refused, reset, TLS…
        reason = str(exc).strip()
        return f"{type(exc).__name__}: {reason.splitlines()[0]}" if reason else type(exc).__name__
    except Exception as exc:  # a URL httpx will not send to, anything else: still one line
        return type(exc).__name__
    if response.is_success and _kuma_accepted(style, response):
        return None
    detail = _answer_message(response)
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")


def _kuma_accepted(style: str, response: httpx.Response) -> bool:
    """Uptime Kuma answers {"ok": false, "msg": …} for a paused or unknown monitor."""
    if style != "uptime-kuma":
        return True
    try:
        return response.json().get("ok") is not False
    except Exception:
        return True  # not Kuma's JSON: a proxy in front of it, say; the status said yes


def _answer_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except Exception:
        text = response.text.strip()
        return text.splitlines()[0][:100] if text else ""
    message = data.get("msg") if isinstance(data, dict) else None
    return str(message)[:100] if message else ""


def _without_secrets(text: str, url: str) -> str:
    """The URL, its path segments and its query values may all be the credential."""
    parts = httpx.URL(url)
    secrets: list[str] = [
        url,
        parts.path,
        *parts.path.split("/"),
        *(v for _, v in parts.params.multi_items()),
    ]
    # Longest first, so that a segment never leaves half of the whole path behind.
    secrets.sort(key=len, reverse=True)
    return redact_text(text, secrets) or ""
