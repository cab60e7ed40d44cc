"""Tokens at rest: Fernet under a list of keys from the environment, a systemd credential or a
0600 key file (the key list and rotation: tests/test_keys.py)."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.fernet import Fernet

from omnipost_tui.crypto import (
    TokenCipher,
    TokenUnreadable,
    load_or_create_keys,
    write_key_file,
)
from omnipost_tui.errors import ConfigError


def test_key_file_is_created_private_and_then_reused(tmp_path):
    key_file = tmp_path / "config" / "secret.key"
    [key] = load_or_create_keys(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert load_or_create_keys(key_file) == (key,)  # the same key on every later run
    Fernet(key)  # a valid Fernet key


def test_a_rewritten_key_file_is_private_from_the_start_whatever_the_umask(tmp_path):
    key_file = tmp_path / "config" / "secret.key"
    keys = (Fernet.generate_key(), Fernet.generate_key())
    old_umask = os.umask(0)
    try:
        write_key_file(key_file, keys)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_keys(key_file) == keys
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no temporary left


def test_tokens_round_trip_and_the_ciphertext_does_not_contain_them():
    cipher = TokenCipher(Fernet.generate_key())
    stored = cipher.encrypt("EAAB-page-token")
    assert "EAAB-page-token" not in stored
    assert cipher.decrypt(stored) == "EAAB-page-token"


def test_another_key_cannot_read_a_token_and_says_what_to_do():
    stored = TokenCipher(Fernet.generate_key()).encrypt("EAAB-page-token")
    with pytest.raises(TokenUnreadable) as info:
        TokenCipher(Fernet.generate_key()).decrypt(stored, account_label="Acme Page")
    assert "Acme Page" in info.value.message
    assert "reconnect" in info.value.message
    assert "EAAB" not in info.value.message


def test_an_invalid_key_is_a_configuration_error_that_does_not_show_it():
    with pytest.raises(ConfigError, match="OMNIPOST_SECRET_KEY is not a valid Fernet key") as info:
        TokenCipher("not-a-key")
    assert "not-a-key" not in info.value.message


def test_a_token_under_an_older_key_of_the_list_is_read_and_reencrypted_with_the_first():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    stored = TokenCipher(old).encrypt("EAAB-page-token")
    both = TokenCipher([new, old])
    rotated = both.reencrypt(stored, what="the token")
    assert rotated is not None
    assert TokenCipher(new).decrypt(rotated) == "EAAB-page-token"
    assert both.reencrypt(rotated, what="the token") is None  # under the first key already
