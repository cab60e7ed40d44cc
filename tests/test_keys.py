"""Secret keys: a list of them (the first encrypts, all decrypt), where they come from (the
setting, a systemd credential, the key file), and `omnipost key rotate` re-encrypting every
stored token with the first, all or nothing, on a real SQLite database.

Every key here is made at run time; none may appear in anything a user sees or the log keeps.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from sqlalchemy import select

from omnipost_tui.config import load_settings
from omnipost_tui.crypto import CREDENTIAL_NAME, TokenCipher, TokenUnreadable, parse_keys
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import ConfigError
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.services.accounts import add_account, remove_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from tests.conftest import FB_TOKEN, LI_TOKEN
from tests.test_cli_errors import assert_user_error

REFRESH_TOKEN = "AQX-test-SECRET-refresh-4444"
TOKENS = (FB_TOKEN, LI_TOKEN, REFRESH_TOKEN)


def new_key() -> str:
    return Fernet.generate_key().decode()


def open_ctx() -> Context:
    return open_context(load_settings(), open_queue=open_queue)


def stored() -> dict[int, tuple[str, str | None]]:
    """Each account's stored ciphertexts, read through a context of its own."""
    ctx = open_ctx()
    try:
        with ctx.db.read() as session:
            rows = session.scalars(select(ConnectedSocialAccount)).all()
            return {r.id: (r.access_token_encrypted, r.refresh_token_encrypted) for r in rows}
    finally:
        ctx.close()


def tokens_read_with(keys: str) -> dict[int, tuple[str, str | None]]:
    """Every stored token decrypted with ``keys`` alone (a comma-separated list)."""
    cipher = TokenCipher(keys)
    return {
        account: (cipher.decrypt(access), cipher.decrypt(refresh) if refresh else None)
        for account, (access, refresh) in stored().items()
        if access
    }


@dataclass
class Install:
    home: Path
    old: str  # the key the tokens were stored with (OMNIPOST_SECRET_KEY)
    removed: int  # an account removed: its tokens erased, nothing to re-encrypt


@pytest.fixture
def install(home: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    return make_install(home, monkeypatch)


def make_install(home: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    """Three accounts (one with a refresh token) stored under OMNIPOST_SECRET_KEY=OLD, and a
    removed fourth; the memory queue, so no queue file."""
    old = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", old)
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_ctx()
    try:
        brand = add_brand(ctx, "Acme")
        for platform, external, name, token, refresh in (
            ("facebook", "104200", "Acme Page", FB_TOKEN, None),
            ("linkedin", "urn:li:organization:42", "Acme LinkedIn", LI_TOKEN, REFRESH_TOKEN),
            ("facebook", "104300", "Acme Shop", FB_TOKEN + "-shop", None),
        ):
            add_account(
                ctx,
                brand=brand.id,
                platform=platform,
                external_id=external,
                name=name,
                access_token=token,
                refresh_token=refresh,
            )
        gone = add_account(
            ctx,
            brand=brand.id,
            platform="facebook",
            external_id="104400",
            name="Old Page",
            access_token="EAAB-removed-token",
        )
        remove_account(ctx, gone.id)
    finally:
        ctx.close()
    return Install(home, old, gone.id)


@pytest.fixture
def run(cli: Callable[..., Result], install: Install) -> Iterator[Callable[..., Result]]:
    """The CLI, with a check after each run that no key and no token reached its output or
    the log file."""
    keys_seen: list[str] = [install.old]

    def invoke(*args: str, input: str | None = None, keys: tuple[str, ...] = ()) -> Result:
        keys_seen.extend(keys)
        result = cli(*args, input=input)
        shown = result.stdout + result.stderr
        for secret in (*keys_seen, *TOKENS):
            assert secret not in shown, f"a secret reached the output of {args}"
        return result

    yield invoke
    log = install.home / "logs" / "omnipost.log"
    text = log.read_text() if log.exists() else ""
    key_file = install.home / "secret.key"
    file_keys = key_file.read_text().split() if key_file.exists() else []
    for secret in (*keys_seen, *file_keys, *TOKENS):
        assert secret not in text, "a secret reached the log"


# --- the key list -----------------------------------------------------------------------------


def test_a_key_list_names_the_bad_entry_by_position_and_never_shows_it():
    good, bad = new_key(), new_key()[:30]  # cut short: 22 bytes, not 32
    with pytest.raises(ConfigError) as info:
        parse_keys(f"{good},{bad},{new_key()}", "OMNIPOST_SECRET_KEY")
    message = info.value.message
    assert message.startswith("OMNIPOST_SECRET_KEY: key 2 of 3 is not a valid Fernet key")
    assert "\n" not in message
    assert bad not in message and good not in message
    assert "omnipost key generate" in message


def test_commas_line_breaks_and_blank_entries_all_separate_keys():
    first, second, third = new_key(), new_key(), new_key()
    text = f"{first}, {second}\n\n{third}\n"
    assert parse_keys(text, "x") == (first.encode(), second.encode(), third.encode())
    with pytest.raises(ConfigError, match="holds no key"):
        parse_keys(" ,\n", "the key file k")


def test_the_first_key_encrypts_and_every_key_decrypts():
    old, new = new_key(), new_key()
    under_old = TokenCipher(old).encrypt(FB_TOKEN)
    both = TokenCipher(f"{new},{old}")
    assert both.decrypt(under_old) == FB_TOKEN
    under_new = both.encrypt(LI_TOKEN)
    assert TokenCipher(new).decrypt(under_new) == LI_TOKEN
    with pytest.raises(TokenUnreadable):
        TokenCipher(old).decrypt(under_new)


def test_a_malformed_key_list_is_one_line_and_nothing_is_written(run, install, monkeypatch):
    before = stored()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new_key()},{install.old},garbage")
    line = assert_user_error(
        run("key", "rotate"), "OMNIPOST_SECRET_KEY: key 3 of 3 is not a valid Fernet key"
    )
    assert "garbage" not in line
    assert stored() == before


# --- where the keys come from -----------------------------------------------------------------


def credentials(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir(exist_ok=True)
    (directory / CREDENTIAL_NAME).write_text(text)
    return directory


def test_the_setting_wins_over_the_credential_which_wins_over_the_key_file(
    run, install, tmp_path, monkeypatch
):
    credential_key = new_key()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials(tmp_path, credential_key)))
    shown = run("config").stdout
    assert "1 key from OMNIPOST_SECRET_KEY" in shown

    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    shown = run("config", keys=(credential_key,)).stdout
    assert f"1 key from the systemd credential {tmp_path}/credentials/{CREDENTIAL_NAME}" in shown
    assert credential_key not in shown

    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    shown = run("config").stdout
    assert f"the key file {install.home}/secret.key (not created yet" in shown
    assert not (install.home / "secret.key").exists()  # looking does not create it


def test_a_credential_directory_without_our_credential_falls_back_to_the_key_file(
    run, install, tmp_path, monkeypatch
):
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "someone-elses").write_text(new_key())
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    assert f"the key file {install.home}/secret.key" in run("config", "--json").stdout


def test_tokens_are_read_with_the_credentials_keys(run, install, tmp_path, monkeypatch):
    new = new_key()
    # Two lines, as `systemd-creds encrypt` or an editor leaves them: the new key, then the old.
    monkeypatch.setenv(
        "CREDENTIALS_DIRECTORY", str(credentials(tmp_path, f"{new}\n{install.old}\n"))
    )
    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    result = run("key", "rotate", keys=(new,))
    assert result.exit_code == 0, result.output
    assert "re-encrypted 4 tokens of 3 accounts with key 1 of 2 from the systemd credential" in (
        result.stdout
    )
    assert set(tokens_read_with(new).values()) == {
        (FB_TOKEN, None),
        (LI_TOKEN, REFRESH_TOKEN),
        (FB_TOKEN + "-shop", None),
    }


# --- key generate -----------------------------------------------------------------------------


def test_key_generate_prints_a_new_valid_key_and_stores_nothing(run, install):
    before = stored()
    first = run("key", "generate")
    assert first.exit_code == 0 and first.stderr == ""
    [key] = first.stdout.split()
    Fernet(key)  # a valid Fernet key
    assert TokenCipher(key).decrypt(TokenCipher(key).encrypt("x")) == "x"
    assert run("key", "generate").stdout.strip() != key  # a new one each time
    assert stored() == before
    assert not (install.home / "secret.key").exists()
    log = install.home / "logs" / "omnipost.log"
    assert key not in (log.read_text() if log.exists() else "")


# --- key rotate -------------------------------------------------------------------------------


def test_rotate_moves_every_token_to_the_new_key(run, install, monkeypatch):
    new = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},{install.old}")
    result = run("key", "rotate", keys=(new,))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "re-encrypted 4 tokens of 3 accounts with key 1 of 2 from OMNIPOST_SECRET_KEY"
    )
    # Every token (access and refresh) reads with the new key alone; the removed account
    # still holds nothing.
    assert tokens_read_with(new) == {
        1: (FB_TOKEN, None),
        2: (LI_TOKEN, REFRESH_TOKEN),
        3: (FB_TOKEN + "-shop", None),
    }
    assert stored()[install.removed] == ("", None)
    # The log says what was done (and the `run` fixture checks it holds no key, no token).
    log = (install.home / "logs" / "omnipost.log").read_text()
    assert "re-encrypted 4 tokens of 3 accounts with the first key from OMNIPOST_SECRET_KEY" in log

    # The old key alone can no longer read them, and says what to do.
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", install.old)
    line = assert_user_error(
        run("key", "rotate"),
        "the stored access token of account 1 (Acme Page) cannot be decrypted with the secret "
        "key from OMNIPOST_SECRET_KEY",
        "put that key back",
        "nothing was re-encrypted",
    )
    assert "Traceback" not in line


def test_rotate_twice_is_harmless_and_writes_nothing_the_second_time(run, install, monkeypatch):
    new = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},{install.old}")
    assert run("key", "rotate", keys=(new,)).exit_code == 0
    after_first = stored()
    again = run("key", "rotate", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "reencrypted": 0,
        "accounts": 0,
        "unchanged": 4,
        "keys": 2,
        "source": "OMNIPOST_SECRET_KEY",
        "new_key": False,
        "dropped_keys": 0,
    }
    assert stored() == after_first
    assert (
        run("key", "rotate").stdout.strip()
        == "nothing to re-encrypt: all 4 stored tokens use key 1 of 2 from OMNIPOST_SECRET_KEY "
        "already"
    )


def test_a_token_no_key_can_read_means_nothing_is_written(run, install, monkeypatch):
    # Account 3's token was stored with a key that is in nobody's list any more.
    lost = new_key()
    ctx = open_ctx()
    try:
        with ctx.db.write() as session:
            account = session.get(ConnectedSocialAccount, 3)
            assert account is not None
            account.access_token_encrypted = TokenCipher(lost).encrypt("EAAB-lost-token")
    finally:
        ctx.close()
    before = stored()
    new = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},{install.old}")
    assert_user_error(
        run("key", "rotate", keys=(new, lost)),
        "account 3 (Acme Shop)",
        "any of the 2 keys from OMNIPOST_SECRET_KEY",
        "nothing was re-encrypted",
    )
    # Accounts 1 and 2 come before it and were readable: they are unchanged too.
    assert stored() == before


def test_new_and_drop_old_refuse_when_the_keys_are_not_in_the_key_file(run, install):
    before = stored()
    for flag in ("--new", "--drop-old"):
        assert_user_error(
            run("key", "rotate", flag),
            f"{flag} changes the key file, but the keys come from OMNIPOST_SECRET_KEY",
            "omnipost key generate",
        )
    assert stored() == before
    assert not (install.home / "secret.key").exists()


# --- the key file: rotate --new, --drop-old ------------------------------------------------------


@pytest.fixture
def key_file_install(install: Install, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same accounts with their keys in the key file (the old key alone)."""
    key_file = install.home / "secret.key"
    key_file.write_text(install.old + "\n")
    key_file.chmod(0o600)
    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    return key_file


def test_rotate_new_puts_a_new_key_first_and_keeps_the_old_after_it(run, install, key_file_install):
    result = run("key", "rotate", "--new")
    assert result.exit_code == 0, result.output
    new, old = key_file_install.read_text().split()
    assert old == install.old and new != old
    assert stat.S_IMODE(key_file_install.stat().st_mode) == 0o600
    assert result.stdout.splitlines() == [
        f"a new key is now first in the key file {key_file_install}, the old one after it",
        f"re-encrypted 4 tokens of 3 accounts with key 1 of 2 from the key file {key_file_install}",
    ]
    assert len(tokens_read_with(new)) == 3
    # No temporary file left beside it (the lock file is empty and stays).
    assert sorted(p.name for p in key_file_install.parent.iterdir() if "secret" in p.name) == [
        "secret.key",
        "secret.key.lock",
    ]
    assert (key_file_install.parent / "secret.key.lock").read_bytes() == b""


def test_drop_old_leaves_the_first_key_alone_in_the_file(run, install, key_file_install):
    assert run("key", "rotate", "--new").exit_code == 0
    new, _ = key_file_install.read_text().split()
    result = run("key", "rotate", "--drop-old")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"nothing to re-encrypt: all 4 stored tokens use key 1 of 2 from the key file "
        f"{key_file_install} already",
        f"removed 1 old key from the key file {key_file_install}: only the first is left",
    ]
    assert key_file_install.read_text().split() == [new]
    assert len(tokens_read_with(new)) == 3


def test_new_refuses_before_touching_the_key_file_when_a_token_is_unreadable(
    run, install, key_file_install
):
    ctx = open_ctx()
    try:
        with ctx.db.write() as session:
            account = session.get(ConnectedSocialAccount, 2)
            assert account is not None
            account.refresh_token_encrypted = TokenCipher(new_key()).encrypt("AQX-lost")
    finally:
        ctx.close()
    before, file_before = stored(), key_file_install.read_text()
    assert_user_error(
        run("key", "rotate", "--new", "--drop-old"),
        "the stored refresh token of account 2 (Acme LinkedIn)",
        "the key file is unchanged",
    )
    assert stored() == before
    assert key_file_install.read_text() == file_before


def test_a_running_process_follows_the_key_file_when_it_changes(run, install, key_file_install):
    # A worker that read the key file before the rotation: it keeps reading every token and
    # encrypts what it stores next with the new first key, without a restart.
    worker = open_ctx()
    try:
        assert worker.cipher.decrypt(stored()[1][0]) == FB_TOKEN
        assert run("key", "rotate", "--new", "--drop-old").exit_code == 0
        [new] = key_file_install.read_text().split()
        assert worker.cipher.decrypt(stored()[1][0]) == FB_TOKEN
        assert TokenCipher(new).decrypt(worker.cipher.encrypt("fresh")) == "fresh"
    finally:
        worker.close()


@pytest.mark.slow
def test_a_running_worker_publishes_through_a_key_file_rotation(
    home, sandbox, process_env, start_worker, cli, monkeypatch
):
    """`key rotate --new --drop-old` while a real worker runs: the worker, which read the old
    key at start, publishes with the re-encrypted token without a restart."""
    from omnipost_tui import clock
    from omnipost_tui.services.posts import add_post
    from omnipost_tui.services.variants import add_variant, get_variant
    from tests.conftest import wait_for

    for name in ("OMNIPOST_FACEBOOK_GRAPH_URL", "OMNIPOST_LINKEDIN_API_URL"):
        monkeypatch.setenv(name, sandbox.url)
        process_env[name] = sandbox.url
    ctx = open_ctx()
    try:
        brand = add_brand(ctx, "Acme")
        page = add_account(
            ctx,
            brand=brand.id,
            platform="facebook",
            external_id="page-ok",
            name="Acme Page",
            access_token=FB_TOKEN,
        )
        post = add_post(ctx, brand=brand.id, title="Launch", text="Keys rotated, still posting")
        [old] = (home / "secret.key").read_text().split()
        worker = start_worker()
        wait_for(lambda: "worker started" in worker.output(), timeout=30, what="the worker")
        assert f"1 key(s) from the key file {home}/secret.key" in worker.output()

        result = cli("key", "rotate", "--new", "--drop-old")
        assert result.exit_code == 0, result.output
        [new] = (home / "secret.key").read_text().split()
        assert new != old

        variant = add_variant(
            ctx, post=post.id, account=page.id, at=clock.now() + timedelta(seconds=2)
        )
        wait_for(
            lambda: get_variant(ctx, variant.id).status in ("published", "failed"),
            timeout=30,
            what="the variant to be published",
        )
        assert get_variant(ctx, variant.id).status == "published", get_variant(ctx, variant.id)
        for secret in (old, new, FB_TOKEN):
            assert secret not in worker.output() + result.output
    finally:
        ctx.close()


# --- doctor -----------------------------------------------------------------------------------


def test_doctor_says_where_the_keys_come_from_and_when_a_rotation_is_due(run, install, monkeypatch):
    from tests.test_doctor import run_doctor

    new = new_key()
    run_doctor(run).passed("keys", "1 key from OMNIPOST_SECRET_KEY; it reads every stored token")
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},{install.old}")
    run_doctor(run).passed(
        "keys", "2 keys from OMNIPOST_SECRET_KEY; 4 tokens still under an older key", "key rotate"
    )
    assert run("key", "rotate", keys=(new,)).exit_code == 0
    run_doctor(run).passed("keys", "every stored token uses the first: the others can go")


def test_doctor_names_the_accounts_whose_tokens_no_key_reads(run, install, monkeypatch):
    from tests.test_doctor import run_doctor

    new = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", new)  # OLD dropped before a rotation
    run_doctor(
        run,
    ).failed(
        "keys",
        ("none of them reads the stored tokens of Acme Page (#1), Acme LinkedIn (#2), Acme Shop",),
        ("put back a key you removed", "omnipost account reconnect 1"),
    )
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},not-a-key")
    run_doctor(run).failed(
        "keys", ("OMNIPOST_SECRET_KEY: key 2 of 2 is not a valid Fernet key",), ("key generate",)
    )


def test_doctor_notices_a_missing_key_file_and_does_not_create_one(run, install, monkeypatch):
    from tests.test_doctor import run_doctor

    # The tokens were stored with OMNIPOST_SECRET_KEY; a shell without it would use a new key
    # file, whose key reads none of them.
    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    run_doctor(run).failed(
        "keys",
        (f"the key file {install.home}/secret.key is missing, but the database holds 4 tokens",),
        ("restore", "OMNIPOST_SECRET_KEY"),
    )
    assert not (install.home / "secret.key").exists()


def test_a_worker_with_a_bad_key_list_stops_at_once_with_one_line(run, install, monkeypatch):
    before = stored()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{install.old},{install.old[:-4]}")
    assert_user_error(run("worker", "--once"), "OMNIPOST_SECRET_KEY: key 2 of 2 is not a valid")
    assert stored() == before


@pytest.mark.parametrize("change", ["deleted", "garbage", "emptied"])
def test_a_running_process_keeps_its_keys_when_the_key_file_breaks(
    install, key_file_install, change, caplog
):
    worker = open_ctx()
    try:
        access = stored()[1][0]
        assert worker.cipher.decrypt(access) == FB_TOKEN
        if change == "deleted":
            key_file_install.unlink()
        else:
            key_file_install.write_text("not a key\n" if change == "garbage" else "")
        with caplog.at_level("WARNING", logger="omnipost.keys"):
            assert worker.cipher.decrypt(access) == FB_TOKEN
            stored_now = worker.cipher.encrypt("fresh")
        assert TokenCipher(install.old).decrypt(stored_now) == "fresh"
        assert "still using the keys read before" in caplog.text
        assert install.old not in caplog.text
        # Never a new key file in place of a deleted one: its key would read no token.
        assert key_file_install.exists() == (change != "deleted")
    finally:
        worker.close()


@pytest.mark.services
def test_rotate_on_postgresql_is_one_transaction_too(home, postgres_url, monkeypatch):
    from omnipost_tui.services.keys import rotate_keys

    monkeypatch.setenv("OMNIPOST_DATABASE_URL", postgres_url)
    install = make_install(home, monkeypatch)
    new = new_key()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", f"{new},{install.old}")
    ctx = open_ctx()
    try:
        with ctx.db.write() as session:
            account = session.get(ConnectedSocialAccount, 3)
            assert account is not None
            good = account.access_token_encrypted
            account.access_token_encrypted = TokenCipher(new_key()).encrypt("EAAB-lost")
        before = stored()
        with pytest.raises(TokenUnreadable, match=r"account 3 \(Acme Shop\)"):
            rotate_keys(ctx)
        assert stored() == before
        with ctx.db.write() as session:
            account = session.get(ConnectedSocialAccount, 3)
            assert account is not None
            account.access_token_encrypted = good
        done = rotate_keys(ctx)
        assert (done.reencrypted, done.accounts) == (4, 3)
        assert len(tokens_read_with(new)) == 3
    finally:
        ctx.close()


def test_drop_old_removes_nothing_when_the_file_was_edited_meanwhile(
    run, install, key_file_install, monkeypatch
):
    from omnipost_tui.crypto import write_key_file
    from omnipost_tui.services import keys

    theirs = new_key()
    reencrypt = keys._reencrypt_all

    def edited_meanwhile(ctx, cipher):  # by hand: a rotation would wait for the lock
        done = reencrypt(ctx, cipher)
        write_key_file(key_file_install, (theirs.encode(), install.old.encode()))
        return done

    monkeypatch.setattr(keys, "_reencrypt_all", edited_meanwhile)
    assert_user_error(
        run("key", "rotate", "--new", "--drop-old", keys=(theirs,)),
        "changed while the tokens were re-encrypted; no key was removed",
    )
    assert key_file_install.read_text().split() == [theirs, install.old]


def test_two_rotations_at_once_keep_both_new_keys(install, key_file_install):
    import threading

    from omnipost_tui.services.keys import rotate_keys

    contexts = [open_ctx(), open_ctx()]
    errors: list[BaseException] = []

    def rotate(ctx: Context) -> None:
        try:
            rotate_keys(ctx, new=True)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=rotate, args=(ctx,)) for ctx in contexts]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for ctx in contexts:
            ctx.close()
    assert errors == []
    # One after the other: the second put its key before the first's, and kept it.
    first, second, old = key_file_install.read_text().split()
    assert old == install.old and len({first, second, old}) == 3
    assert len(tokens_read_with(first)) == 3


def test_a_key_list_in_config_toml_is_named_as_such(run, install, monkeypatch):
    new = new_key()
    monkeypatch.delenv("OMNIPOST_SECRET_KEY")
    config = install.home / "config.toml"
    config.write_text(f'secret_key = "{new},{install.old}"\n')
    config.chmod(0o600)
    shown = json.loads(run("config", "--json", keys=(new,)).stdout)
    assert shown["keys"] == {"source": "secret_key in config.toml", "count": 2, "problem": None}
    assert shown["settings"]["secret_key"] == {"value": "********", "source": "config.toml"}
    result = run("key", "rotate", keys=(new,))
    assert "with key 1 of 2 from secret_key in config.toml" in result.stdout
    assert len(tokens_read_with(new)) == 3
