"""huey, imported without the client libraries of the queues OmniPost does not open.

huey.storage imports redis and psycopg whenever they are installed: 0.2 s of every CLI command
that only puts a message in a SQLite queue (`tests/benchmarks/cli_startup.py`). Here it is
imported with both hidden; a Redis queue asks `redis_for_huey()`, which imports redis and hands
huey.storage the names it would have imported, so one process can still use both kinds of
queue. psycopg is only for huey's PostgresHuey, which OmniPost does not use (the database's own
driver is imported by SQLAlchemy). Whatever imports huey before this module (the worker's
consumer does) gets it whole, which is just slower.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def _hidden(*modules: str) -> Iterator[None]:
    """Make ``import`` of each of ``modules`` not loaded yet fail until the block ends."""
    hidden = [name for name in modules if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not found"
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with _hidden("redis", "psycopg"):
    import huey.storage

from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab  # noqa: E402
from huey.api import Huey, TaskWrapper  # noqa: E402


def redis_for_huey() -> ModuleType:
    """The redis module, with huey's RedisStorage given what it uses from it."""
    import redis
    import redis.exceptions

    storage = huey.storage
    if storage.Redis is None:
        storage.ConnectionPool = redis.ConnectionPool
        storage.Redis = redis.Redis
        storage.ConnectionError = redis.exceptions.ConnectionError
        storage.TimeoutError = redis.exceptions.TimeoutError
        storage.RedisStorage.redis_client = redis.Redis  # bound when the class was made
    return redis


__all__ = [
    "Huey",
    "MemoryHuey",
    "RedisHuey",
    "SqliteHuey",
    "TaskWrapper",
    "crontab",
    "redis_for_huey",
]
