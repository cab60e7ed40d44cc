"""``omnipost key``: make a secret key, and re-encrypt every stored token with the first one.

A key is never read from the command line (it would end up in the shell history) and never
printed, except by ``key generate``, whose whole job is to print one to stdout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from omnipost_tui.cli.base import App, json_option, pass_app
from omnipost_tui.cli.output import echo_json

if TYPE_CHECKING:
    # The database layer is imported when `key rotate` runs, not by `omnipost --help`.
    from omnipost_tui.services.keys import Rotation


@click.group("key")
def key() -> None:
    """Keys that encrypt stored tokens: generate one, rotate to it.

    OMNIPOST_SECRET_KEY (or the systemd credential omnipost-secret-key, or the key file) holds
    one key or several, separated by commas: the first encrypts, every one decrypts.
    """


@key.command("generate")
@json_option
def key_generate(as_json: bool) -> None:
    """Print a new secret key (on stdout only; nothing is stored).

    Put it first in OMNIPOST_SECRET_KEY, the old key after it (NEW,OLD), restart the workers,
    then run `omnipost key rotate`.
    """
    from omnipost_tui.crypto import generate_key

    new = generate_key()
    if as_json:
        echo_json({"key": new})
    else:
        click.echo(new)


@key.command("rotate")
@click.option(
    "--new",
    is_flag=True,
    help="Key file only: make a new key and put it first in the file (the old ones after it).",
)
@click.option(
    "--drop-old",
    is_flag=True,
    help="Key file only: afterwards keep only the first key in the file.",
)
@json_option
@pass_app
def key_rotate(app: App, new: bool, drop_old: bool, as_json: bool) -> None:
    """Re-encrypt every stored token with the first key, all or nothing.

    Tokens already under the first key are left as they are, so running it twice is harmless.
    A token that none of the keys can read is refused with its account, and nothing is written.
    Keep the old key in the list until every worker runs with the new list.
    """
    from omnipost_tui.services.keys import rotate_keys

    done = rotate_keys(app.ctx, new=new, drop_old=drop_old)
    if as_json:
        echo_json(
            {
                "reencrypted": done.reencrypted,
                "accounts": done.accounts,
                "unchanged": done.unchanged,
                "keys": done.keys,
                "source": done.source,
                "new_key": done.new_key,
                "dropped_keys": done.dropped,
            }
        )
        return
    if done.new_key:
        click.echo(f"a new key is now first in {done.source}, the old one after it")
    click.echo(_summary(done))
    if done.dropped:
        old = "key" if done.dropped == 1 else "keys"
        click.echo(f"removed {done.dropped} old {old} from {done.source}: only the first is left")


def _summary(done: Rotation) -> str:
    which = f"key 1 of {done.keys + done.dropped} from {done.source}"
    if done.reencrypted:
        tokens = "token" if done.reencrypted == 1 else "tokens"
        accounts = "account" if done.accounts == 1 else "accounts"
        line = (
            f"re-encrypted {done.reencrypted} {tokens} of {done.accounts} {accounts} with {which}"
        )
        return line + (f" ({done.unchanged} already used it)" if done.unchanged else "")
    if done.unchanged:
        stored = (
            "the stored token uses"
            if done.unchanged == 1
            else f"all {done.unchanged} stored tokens use"
        )
        return f"nothing to re-encrypt: {stored} {which} already"
    return "nothing to re-encrypt: no account holds a token"
