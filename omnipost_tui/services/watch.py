"""Has anything changed since I last looked? The TUI asks this about once a second.

SQLite answers for free: ``PRAGMA data_version`` on a connection that stays open changes
whenever any other connection (a worker, the CLI, the TUI's own writes) commits. Other databases
get a cheap fingerprint of the tables the screens show.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import func, select

from omnipost_tui.db import sqlite_path
from omnipost_tui.models import (
    ConnectedSocialAccount,
    PostVariant,
    PublicationAttempt,
    WorkerHeartbeat,
)
from omnipost_tui.services.context import Context


class ChangeWatcher:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._last: object = object()  # never equal: the first poll reports a change
        # Held by every use of the connection and by close(): polls run in worker threads while
        # the app closes the watcher from its own thread, and sqlite3 crashes (not raises) when a
        # connection is closed under a statement another thread is running.
        self._lock = threading.Lock()
        self._closed = False
        path = sqlite_path(ctx.settings.database_url)
        self._sqlite: sqlite3.Connection | None = None
        if path is not None:
            self._sqlite = sqlite3.connect(path, check_same_thread=False, timeout=5)

    def changed(self) -> bool:
        """True when something changed since the last call; always False once closed."""
        with self._lock:
            if self._closed:
                return False
            token = self._token()
            if token == self._last:
                return False
            self._last = token
            return True

    def _token(self) -> object:
        if self._sqlite is not None:
            return self._sqlite.execute("PRAGMA data_version").fetchone()[0]
        with self.ctx.db.read() as session:
            return (
                session.execute(
                    select(func.max(PostVariant.updated_at), func.count(PostVariant.id))
                ).one(),
                session.scalar(select(func.max(PublicationAttempt.id))),
                session.scalar(select(func.max(PublicationAttempt.finished_at))),
                session.scalar(select(func.max(ConnectedSocialAccount.updated_at))),
                session.scalar(select(func.max(WorkerHeartbeat.beat_at))),
            )

    def close(self) -> None:
        """Stop watching. Waits for a poll in flight (in WAL mode a poll takes microseconds)."""
        with self._lock:
            self._closed = True
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None
