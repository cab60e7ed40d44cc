"""Tokens are encrypted at rest with Fernet.

The key comes from ``OMNIPOST_SECRET_KEY`` or from a key file created 0600 in the config dir on
first use. Losing the key makes stored tokens unreadable (accounts must be reconnected), which is
why decryption errors say exactly that.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from omnipost_tui.errors import ConfigError, OmniPostError
from omnipost_tui.files import make_private_dir, open_private


class TokenUnreadable(OmniPostError):
    """A stored token cannot be decrypted with the current key."""


def load_or_create_key(key_file: Path) -> bytes:
    try:
        return key_file.read_bytes().strip()
    except FileNotFoundError:
        pass
    make_private_dir(key_file.parent)
    key = Fernet.generate_key()
    try:
        # O_EXCL: if another process created it a moment ago, use theirs.
        fd = open_private(key_file, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:
        return key_file.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class TokenCipher:
    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                "OMNIPOST_SECRET_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, encrypted: str, *, account_label: str = "this account") -> str:
        try:
            return self._fernet.decrypt(encrypted.encode()).decode()
        except InvalidToken:
            raise TokenUnreadable(
                f"the stored token of {account_label} cannot be decrypted with the current secret "
                "key; reconnect the account (omnipost account reconnect)"
            ) from None
