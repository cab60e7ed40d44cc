"""What every service call needs: settings, the database, the token cipher and the queue."""

from __future__ import annotations

from dataclasses import dataclass, field

from omnipost_tui.config import Settings, load_settings, secure_own_dirs
from omnipost_tui.crypto import TokenCipher, load_or_create_key
from omnipost_tui.db import Database
from omnipost_tui.engine.queue import Queue


@dataclass
class Context:
    settings: Settings
    db: Database
    # Set in ``omnipost worker`` processes; recorded on attempts and heartbeats.
    worker_id: str | None = None
    _cipher: TokenCipher | None = field(default=None, repr=False)
    _queue: Queue | None = field(default=None, repr=False)

    @property
    def cipher(self) -> TokenCipher:
        # Created on first use so read-only commands never create a key file.
        if self._cipher is None:
            key = self.settings.secret_key or load_or_create_key(self.settings.paths.key_file)
            self._cipher = TokenCipher(key)
        return self._cipher

    @property
    def queue(self) -> Queue:
        if self._queue is None:
            self._queue = Queue(self.settings.queue_url, self.settings.queue_name, lambda: self)
        return self._queue

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()
        self.db.dispose()


def open_context(settings: Settings | None = None, *, migrate: bool = True) -> Context:
    """Load settings, make OmniPost's directories private, open the database and bring its
    schema up to date."""
    settings = settings or load_settings()
    secure_own_dirs(settings.paths)
    db = Database(settings.database_url)
    if migrate:
        db.ensure_schema()
    return Context(settings=settings, db=db)
