"""How long does `omnipost key rotate` hold the database's write lock? Prints one line.

A rotation is one write transaction: while it runs, a worker's writes (a claim, an attempt)
wait for it. This fills a fresh SQLite home with ACCOUNTS accounts (an access and a refresh
token each) under one key, then times the rotation to a second key, and a second run (which
finds every token under the first key and writes nothing). Keys are made at run time.

    python tests/benchmarks/rotate_keys.py [--accounts 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from cryptography.fernet import Fernet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    os.environ.update(
        OMNIPOST_HOME=tempfile.mkdtemp(prefix="omnipost-bench-keys-"),
        OMNIPOST_QUEUE_URL="memory://",
        OMNIPOST_SECRET_KEY=old,
    )
    # Imported after the environment is set: the settings are read from it.
    from omnipost_tui import clock
    from omnipost_tui.config import load_settings
    from omnipost_tui.models import ConnectedSocialAccount
    from omnipost_tui.services.brands import add_brand
    from omnipost_tui.services.context import open_context
    from omnipost_tui.services.keys import rotate_keys

    ctx = open_context(load_settings())
    brand = add_brand(ctx, "Bench")
    now = clock.now()
    with ctx.db.write() as session:
        for n in range(args.accounts):
            session.add(
                ConnectedSocialAccount(
                    brand_id=brand.id,
                    platform="linkedin",
                    external_id=f"urn:li:person:{n}",
                    name=f"Member {n}",
                    access_token_encrypted=ctx.cipher.encrypt(f"access-{n}"),
                    refresh_token_encrypted=ctx.cipher.encrypt(f"refresh-{n}"),
                    created_at=now,
                    updated_at=now,
                )
            )
    ctx.close()

    os.environ["OMNIPOST_SECRET_KEY"] = f"{new},{old}"
    ctx = open_context(load_settings())
    try:
        started = time.perf_counter()
        first = rotate_keys(ctx)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = rotate_keys(ctx)
        again_s = time.perf_counter() - started
    finally:
        ctx.close()
    print(
        f"rotate: {first.reencrypted} tokens of {first.accounts} accounts in "
        f"{first_s * 1000:.0f} ms; again: {again.unchanged} unchanged in {again_s * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
