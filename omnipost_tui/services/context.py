"""What every service call needs: settings, the database, the token cipher and the queue.

The services queue work ("look at variant N now") through ``WorkQueue``, an interface the
engine implements on huey. They never import the engine: an entry point (the CLI, the demo)
opens the context with the engine's ``open_queue``, and everything below it only sees this.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from omnipost_tui.config import Settings, load_settings, secure_own_dirs
from omnipost_tui.crypto import KeySource, TokenCipher, find_key_source, load_keys
from omnipost_tui.db import Database
from omnipost_tui.errors import ConfigError

log = logging.getLogger("omnipost.keys")


class WorkQueue(Protocol):
    """Messages to the workers. Each method raises QueueUnavailable when the queue is away."""

    def ping(self) -> None:
        """Fail fast, before anything is written, when the queue cannot be reached."""

    def enqueue_publish(self, variant_id: int, eta: datetime | None = None) -> None:
        """Ask a worker to look at ``variant_id`` (at ``eta``, an aware datetime, if given)."""

    def enqueue_alert(self, key: str, eta: datetime | None = None) -> None:
        """Ask a worker to send alert ``key`` to the webhook (at ``eta``, if given)."""

    def counts(self) -> tuple[int, int]:
        """(pending, scheduled) messages."""

    def close(self) -> None: ...


# Opens the queue the settings name; the second argument gives the context that the tasks it
# runs (in a worker) use, or None where it only sends (doctor's check).
QueueOpener = Callable[[Settings, "Callable[[], Context] | None"], WorkQueue]


@dataclass
class Context:
    settings: Settings
    db: Database
    open_queue: QueueOpener | None = field(default=None, repr=False)
    # Set in ``omnipost worker`` processes; recorded on attempts and heartbeats.
    worker_id: str | None = None
    _cipher: TokenCipher | None = field(default=None, repr=False)
    _key_source: KeySource | None = field(default=None, repr=False)
    _key_stamp: tuple[int, int, int] | None = field(default=None, repr=False)
    _queue: WorkQueue | None = field(default=None, repr=False)

    @property
    def key_source(self) -> KeySource:
        """Where the keys come from (the setting, a systemd credential or the key file)."""
        if self._key_source is None:
            self._key_source = key_source(self.settings)
        return self._key_source

    @property
    def cipher(self) -> TokenCipher:
        # Created on first use so read-only commands never create a key file. Made again when
        # the file the keys come from changes (`omnipost key rotate --new` in another process
        # rewrites the key file): a running worker then encrypts with the new first key and
        # reads what was re-encrypted with it, without a restart. One stat per use.
        source = self.key_source
        stamp = source.stamp()
        if self._cipher is None:
            keys = load_keys(source, self.settings.secret_key)
            self._cipher = TokenCipher(keys, source=source.description)
            self._key_stamp = stamp
        elif stamp != self._key_stamp:
            self._key_stamp = stamp  # once per change, whatever comes of it
            try:
                # Never create it here: a key file that went away (a restore in progress, a
                # mistake) must not be replaced by a new key that reads none of the tokens.
                keys = load_keys(source, self.settings.secret_key, create=False)
            except ConfigError as exc:
                # Half written by an editor, or broken: keep the keys this process has (they
                # read what it read so far); doctor and the next start report the file.
                log.warning("%s; still using the keys read before", exc.message)
            else:
                self._cipher = TokenCipher(keys, source=source.description)
                log.info("%s changed: %d key(s) now", source.description, len(keys))
        return self._cipher

    @property
    def queue(self) -> WorkQueue:
        # Opened on first use: most commands never queue anything.
        if self._queue is None:
            if self.open_queue is None:
                raise RuntimeError("this context was opened without a queue")
            self._queue = self.open_queue(self.settings, lambda: self)
        return self._queue

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()
        self.db.dispose()


def key_source(settings: Settings) -> KeySource:
    """Where this process takes its keys from: the ``secret_key`` setting, the systemd
    credential in ``$CREDENTIALS_DIRECTORY``, or the key file (crypto.py says why that order)."""
    return find_key_source(
        settings.secret_key,
        settings.sources.get("secret_key", "default"),
        os.environ,
        settings.paths.key_file,
    )


def open_context(
    settings: Settings | None = None,
    *,
    open_queue: QueueOpener | None = None,
    migrate: bool = True,
) -> Context:
    """Load settings, make OmniPost's directories private, open the database and bring its
    schema up to date. ``open_queue``: how to reach the workers (the engine's)."""
    settings = settings or load_settings()
    secure_own_dirs(settings.paths)
    db = Database(settings.database_url)
    if migrate:
        db.ensure_schema()
    return Context(settings=settings, db=db, open_queue=open_queue)
