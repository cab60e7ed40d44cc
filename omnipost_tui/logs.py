"""Log set-up: key=value lines to a rotating file in the log dir (and stderr for the worker).

Log calls pass context as ``extra={"variant": 12, "platform": "facebook", "attempt": 2,
"outcome": "retrying"}``; the formatter appends those fields. Messages are passed through the
redactor as a last line of defence, but code must never log a token in the first place.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path

from omnipost_tui.config import Settings
from omnipost_tui.redact import redact_text

FIELDS = (
    "variant",
    "platform",
    "account",
    "attempt",
    "outcome",
    "http_status",
    "error_code",
    "worker",
)
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        parts = [stamp, record.levelname, record.name, _quote(record.getMessage())]
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                parts.append(f"{key}={_quote(str(value))}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact_text(line) or ""


def _quote(text: str) -> str:
    text = text.replace("\n", " ")
    return f'"{text}"' if (" " in text or "=" in text) and not text.startswith('"') else text


_configured: set[str] = set()


def setup_logging(settings: Settings, *, stderr: bool = False, verbose: bool = False) -> Path:
    """Configure the ``omnipost`` logger once per process; returns the log file path."""
    log_file = settings.paths.log_file
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level)
    logger = logging.getLogger("omnipost")
    logger.setLevel(level)
    logger.propagate = False
    formatter = KeyValueFormatter()
    if "file" not in _configured:
        try:
            log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
            log_file.chmod(0o600)
        except OSError:
            handler = None  # an unwritable log dir must not stop publishing; doctor reports it
        if handler is not None:
            handler.setFormatter(formatter)
            logger.addHandler(handler)
        _configured.add("file")
    if stderr and "stderr" not in _configured:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        logger.addHandler(stream)
        _configured.add("stderr")
        _follow_huey(stream, verbose)
    for handler in logger.handlers:
        handler.setLevel(level)
    return log_file


def _follow_huey(handler: logging.Handler, verbose: bool) -> None:
    """huey's consumer messages (start, signals, shutdown) belong in the worker's log; its
    per-task "Executing …" lines only when verbose."""
    huey_logger = logging.getLogger("huey")
    huey_logger.setLevel(logging.INFO if verbose else logging.WARNING)
    huey_logger.propagate = False
    logging.getLogger("huey.consumer").setLevel(logging.INFO)
    huey_logger.addHandler(handler)
    for existing in logging.getLogger("omnipost").handlers:
        if existing is not handler:
            huey_logger.addHandler(existing)
