"""Tokens at rest: Fernet with a key from the environment or a 0600 key file."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from omnipost_tui.crypto import TokenCipher, TokenUnreadable, load_or_create_key
from omnipost_tui.errors import ConfigError


def test_key_file_is_created_private_and_then_reused(tmp_path):
    key_file = tmp_path / "config" / "secret.key"
    key = load_or_create_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert load_or_create_key(key_file) == key  # the same key on every later run
    Fernet(key)  # a valid Fernet key


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


def test_an_invalid_key_is_a_configuration_error():
    with pytest.raises(ConfigError, match="Fernet"):
        TokenCipher("not-a-key")
