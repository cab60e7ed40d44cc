"""The keys that encrypt stored tokens: where they come from, and re-encrypting every stored
token with the first of them (``omnipost key rotate``).

A rotation is one write transaction: every token is re-encrypted or none is. While it runs and
after it, a process that has both keys reads old and new ciphertext alike; that is why the old
key must stay in the list until every worker runs with the new list (the key file is re-read by
running processes when it changes; ``OMNIPOST_SECRET_KEY`` and a systemd credential only when a
process starts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from omnipost_tui.config import Settings
from omnipost_tui.crypto import (
    KEY_FILE,
    KeySource,
    TokenCipher,
    TokenUnreadable,
    generate_key,
    key_file_lock,
    load_keys,
    write_key_file,
)
from omnipost_tui.errors import ConfigError, ConflictError, ValidationError
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.services.context import Context, key_source

log = logging.getLogger("omnipost.keys")

# The encrypted columns of an account, and how a message names each. Nothing else in the
# database is encrypted with these keys (app secrets and the webhook live in config.toml or
# the environment).
TOKEN_COLUMNS = (
    ("access_token_encrypted", "access token"),
    ("refresh_token_encrypted", "refresh token"),
)


@dataclass(frozen=True)
class KeyInfo:
    """What ``omnipost config`` says about the keys: the source, how many, never a key."""

    source: str
    kind: str
    keys: int | None  # None: not readable (``problem`` says why) or not created yet
    problem: str | None = None


@dataclass(frozen=True)
class Rotation:
    reencrypted: int  # tokens written under the first key by this run
    accounts: int  # accounts those tokens belong to
    unchanged: int  # tokens that were under the first key already
    keys: int  # keys in the list after the run
    source: str
    new_key: bool  # --new: a key was made and put first in the key file
    dropped: int  # --drop-old: keys taken out of the key file


def key_info(settings: Settings) -> KeyInfo:
    """Where the keys come from and how many there are; never creates the key file, never
    opens the database."""
    source = key_source(settings)
    if source.kind == KEY_FILE and source.path is not None and not source.path.exists():
        return KeyInfo(source.description, source.kind, None, "not created yet: made on first use")
    try:
        keys = load_keys(source, settings.secret_key, create=False)
    except ConfigError as exc:
        return KeyInfo(source.description, source.kind, None, exc.message)
    return KeyInfo(source.description, source.kind, len(keys))


def rotate_keys(ctx: Context, *, new: bool = False, drop_old: bool = False) -> Rotation:
    """Re-encrypt every stored token with the first key, in one transaction.

    ``new`` (key file only): make a key and put it first in the key file, the old ones after it,
    before re-encrypting. ``drop_old`` (key file only): once every token is under the first key,
    leave only that key in the file. A token none of the keys can read is an error naming its
    account, and then nothing is written: neither a token nor the key file.
    """
    source = ctx.key_source
    if not (new or drop_old):
        return _rotate(ctx, source, new=False, drop_old=False)
    if source.kind != KEY_FILE or source.path is None:
        flag = "--new" if new else "--drop-old"
        raise ValidationError(
            f"{flag} changes the key file, but the keys come from {source.description}; change "
            "them there: omnipost key generate, put the new key first and the old one after "
            "it, restart the workers, then run omnipost key rotate"
        )
    with key_file_lock(source.path):
        return _rotate(ctx, source, new=new, drop_old=drop_old)


def _rotate(ctx: Context, source: KeySource, *, new: bool, drop_old: bool) -> Rotation:
    cipher = ctx.cipher
    if new:
        # Every token must be readable before the key file changes: an unreadable one is
        # refused with nothing written, not after the file has been rewritten.
        _check_readable(ctx, cipher)
        assert source.path is not None
        written = (generate_key().encode("ascii"), *load_keys(source, None, create=False))
        write_key_file(source.path, written)
        log.info("a new first key was written to %s; the old ones follow it", source.path)
        # The keys just written, not a re-read of the file: what was re-encrypted must be
        # under the key that is in it.
        cipher = TokenCipher(written, source=source.description)
    reencrypted, accounts, unchanged = _reencrypt_all(ctx, cipher)
    keys_left, dropped = cipher.key_count, 0
    if drop_old and cipher.key_count > 1:
        assert source.path is not None
        current = load_keys(source, None, create=False)
        if not cipher.encrypts_with(current[0]):
            # Edited by hand meanwhile (rotations take the lock): whatever it holds now, its
            # first key is not the one the tokens were just re-encrypted with.
            raise ConflictError(
                f"{source.description} changed while the tokens were re-encrypted; no key was "
                "removed; run omnipost key rotate --drop-old again"
            )
        write_key_file(source.path, current[:1])
        keys_left, dropped = 1, len(current) - 1
        log.info("the key file %s now holds the first key alone", source.path)
    log.info(
        "re-encrypted %d tokens of %d accounts with the first key from %s (%d already used it)",
        reencrypted,
        accounts,
        source.description,
        unchanged,
    )
    return Rotation(
        reencrypted=reencrypted,
        accounts=accounts,
        unchanged=unchanged,
        keys=keys_left,
        source=source.description,
        new_key=new,
        dropped=dropped,
    )


def _stored_tokens(account: ConnectedSocialAccount) -> list[tuple[str, str, str]]:
    """(column, what, ciphertext) of each token the account holds; a removed account holds
    none (its access token is erased to "")."""
    found = []
    for column, noun in TOKEN_COLUMNS:
        value = getattr(account, column)
        if value:
            what = f"the stored {noun} of account {account.id} ({account.name})"
            found.append((column, what, value))
    return found


def _check_readable(ctx: Context, cipher: TokenCipher) -> None:
    with ctx.db.read() as session:
        for account in session.scalars(select(ConnectedSocialAccount)):
            for _, what, value in _stored_tokens(account):
                try:
                    cipher.reencrypt(value, what=what)
                except TokenUnreadable as exc:
                    raise TokenUnreadable(
                        f"{exc.message}; nothing was re-encrypted and the key file is unchanged"
                    ) from None


def _reencrypt_all(ctx: Context, cipher: TokenCipher) -> tuple[int, int, int]:
    reencrypted = unchanged = 0
    accounts: set[int] = set()
    with ctx.db.write() as session:
        # FOR UPDATE: on PostgreSQL a token refreshed by a worker while this runs waits for
        # the commit instead of being overwritten by the rotated old one (SQLite's write
        # transaction holds the whole database already).
        rows = session.scalars(
            select(ConnectedSocialAccount).order_by(ConnectedSocialAccount.id).with_for_update()
        )
        for account in rows:
            for column, what, value in _stored_tokens(account):
                try:
                    rotated = cipher.reencrypt(value, what=what)
                except TokenUnreadable as exc:
                    # Raised inside the transaction: it is rolled back, nothing is written.
                    raise TokenUnreadable(f"{exc.message}; nothing was re-encrypted") from None
                if rotated is None:
                    unchanged += 1
                    continue
                setattr(account, column, rotated)
                reencrypted += 1
                accounts.add(account.id)
    return reencrypted, len(accounts), unchanged


@dataclass(frozen=True)
class KeyHealth:
    """What ``omnipost doctor`` says about the keys against the stored tokens."""

    info: KeyInfo
    tokens: int  # stored tokens looked at
    older: int  # readable, but under a key other than the first (a rotation is due)
    unreadable: tuple[tuple[int, str], ...]  # (account id, name) whose tokens no key reads


def key_health(ctx: Context) -> KeyHealth:
    """Whether this process's keys read every stored token; never creates the key file (a
    missing one with tokens stored means the key that encrypted them is gone)."""
    info = key_info(ctx.settings)
    with ctx.db.read() as session:
        accounts = session.scalars(
            select(ConnectedSocialAccount).order_by(ConnectedSocialAccount.id)
        ).all()
        stored = [(a.id, a.name, value) for a in accounts for _, _, value in _stored_tokens(a)]
    if info.keys is None:
        # No key to try: every stored token is unreadable (none stored: nothing is wrong).
        unreadable = tuple(dict.fromkeys((id_, name) for id_, name, _ in stored))
        return KeyHealth(info, len(stored), 0, unreadable)
    cipher = TokenCipher(load_keys(ctx.key_source, ctx.settings.secret_key, create=False))
    older = 0
    lost: dict[int, str] = {}
    for id_, name, value in stored:
        try:
            if cipher.reencrypt(value, what="") is not None:
                older += 1
        except TokenUnreadable:
            lost[id_] = name
    return KeyHealth(info, len(stored), older, tuple(lost.items()))
