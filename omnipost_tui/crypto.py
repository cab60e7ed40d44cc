"""Tokens are encrypted at rest with Fernet, under a list of keys: the first encrypts, every one
decrypts (cryptography's MultiFernet), so a key can be replaced without a moment when stored
tokens are unreadable (``omnipost key rotate``).

Where the keys come from, first found wins:

1. the ``secret_key`` setting (``OMNIPOST_SECRET_KEY``, or ``secret_key`` in config.toml);
2. the systemd credential ``$CREDENTIALS_DIRECTORY/omnipost-secret-key`` (``LoadCredential=``,
   ``LoadCredentialEncrypted=``, ``SetCredentialEncrypted=``), so a service never has the key in
   its environment;
3. the key file ``secret.key`` in the config dir, created 0600 on first use.

Each holds one key or several, separated by commas or line breaks. Losing the keys makes stored
tokens unreadable (accounts must be reconnected), which is why decryption errors say exactly
that. No message here ever contains a key: a bad one is named by its position.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from omnipost_tui.errors import ConfigError, OmniPostError
from omnipost_tui.files import make_private_dir, open_private

# The name to give the credential in the unit: LoadCredential=omnipost-secret-key:/etc/…
CREDENTIAL_NAME = "omnipost-secret-key"

SETTING = "setting"
CREDENTIAL = "credential"
KEY_FILE = "key file"

_SEPARATORS = re.compile(r"[,\r\n]")
_FORMAT_HINT = (
    "32 url-safe base64-encoded bytes; several keys are separated by commas or line breaks; "
    "make one with: omnipost key generate"
)


class TokenUnreadable(OmniPostError):
    """A stored token cannot be decrypted with any of the configured keys."""


@dataclass(frozen=True)
class KeySource:
    """Where the keys are read from; never the keys themselves."""

    kind: str  # SETTING | CREDENTIAL | KEY_FILE
    description: str  # for people: "OMNIPOST_SECRET_KEY", "the key file /…/secret.key"
    path: Path | None = None  # the file they are read from (a credential or the key file)

    def stamp(self) -> tuple[int, int, int] | None:
        """Changes whenever the file is replaced or rewritten (None: no file, or gone)."""
        if self.path is None:
            return None
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)


def find_key_source(
    setting: str | None, setting_source: str, env: Mapping[str, str], key_file: Path
) -> KeySource:
    """Which source the keys come from (see the module's docstring), without reading a key.

    ``setting``/``setting_source``: the ``secret_key`` setting and where it came from
    (``Settings.sources``: "env OMNIPOST_SECRET_KEY" or "config.toml").
    """
    if setting:
        if setting_source.startswith("env "):
            return KeySource(SETTING, setting_source.removeprefix("env "))
        return KeySource(SETTING, f"secret_key in {setting_source}")
    directory = env.get("CREDENTIALS_DIRECTORY", "")
    if directory:
        credential = Path(directory) / CREDENTIAL_NAME
        try:
            present = credential.is_file()
        except OSError:
            # There but not ours to look at: reading it says why, where falling back to the key
            # file would quietly encrypt with another key.
            present = True
        if present:
            return KeySource(CREDENTIAL, f"the systemd credential {credential}", credential)
    return KeySource(KEY_FILE, f"the key file {key_file}", key_file)


def load_keys(source: KeySource, setting: str | None, *, create: bool = True) -> tuple[bytes, ...]:
    """The keys of ``source``, first one first. The key file is created (one new key) when it
    does not exist and ``create`` is true; otherwise a missing file is a ConfigError."""
    if source.kind == SETTING:
        return parse_keys(setting or "", source.description)
    assert source.path is not None
    if source.kind == KEY_FILE and create:
        return load_or_create_keys(source.path)
    return parse_keys(_read_text(source.path, source.description), source.description)


def parse_keys(text: str, where: str) -> tuple[bytes, ...]:
    """Keys separated by commas or line breaks (blank entries are ignored: a trailing newline,
    a space after a comma). A bad one is named by its position, never shown."""
    entries = [entry.strip() for entry in _SEPARATORS.split(text) if entry.strip()]
    if not entries:
        raise ConfigError(f"{where} holds no key ({_FORMAT_HINT})")
    for position, entry in enumerate(entries, start=1):
        if not _is_fernet_key(entry):
            which = "" if len(entries) == 1 else f": key {position} of {len(entries)}"
            raise ConfigError(f"{where}{which} is not a valid Fernet key ({_FORMAT_HINT})")
    return tuple(entry.encode("ascii") for entry in entries)


def _is_fernet_key(entry: str) -> bool:
    # What Fernet() itself accepts: url-safe base64 of exactly 32 bytes.
    try:
        return len(base64.urlsafe_b64decode(entry.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _read_text(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not a list of keys ({_FORMAT_HINT})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None


def load_or_create_keys(key_file: Path) -> tuple[bytes, ...]:
    """The key file's keys; a new file with one new key (0600, in a 0700 directory) when there
    is none yet."""
    where = f"the key file {key_file}"
    if key_file.exists():
        return parse_keys(_read_text(key_file, where), where)
    make_private_dir(key_file.parent)
    key = Fernet.generate_key()
    try:
        # O_EXCL: if another process created it a moment ago, use theirs.
        fd = open_private(key_file, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:
        return parse_keys(_read_text(key_file, where), where)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return (key,)


@contextlib.contextmanager
def key_file_lock(key_file: Path) -> Iterator[None]:
    """Held by whoever rewrites the key file for the whole of its change: two rotations at once
    would each put their own new key first, and the one written last would drop the other's,
    under which the tokens were just re-encrypted."""
    make_private_dir(key_file.parent)
    fd = open_private(key_file.with_name(f"{key_file.name}.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_key_file(key_file: Path, keys: Sequence[bytes]) -> None:
    """Replace the key file with ``keys``, one a line, atomically: a process reading it at the
    same moment gets the old list or the new one, never half of either, and a crash leaves one
    of the two. Written 0600 from the start (a temporary file in the same directory, renamed)."""
    make_private_dir(key_file.parent)
    temporary = key_file.with_name(f".{key_file.name}.{secrets.token_hex(6)}.tmp")
    fd = open_private(temporary, os.O_WRONLY | os.O_EXCL)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(key + b"\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, key_file)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    # The rename itself must survive a power cut, or the tokens re-encrypted next are lost.
    with contextlib.suppress(OSError):
        directory = os.open(key_file.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class TokenCipher:
    """Encrypts with the first key; decrypts with whichever of them fits."""

    def __init__(
        self, keys: bytes | str | Sequence[bytes], *, source: str = "OMNIPOST_SECRET_KEY"
    ) -> None:
        if isinstance(keys, bytes | str):
            text = keys.decode("ascii", "replace") if isinstance(keys, bytes) else keys
            keys = parse_keys(text, source)
        else:
            keys = parse_keys(",".join(k.decode("ascii", "replace") for k in keys), source)
        self.source = source
        self.key_count = len(keys)
        self._first_key = keys[0]
        self._first = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def encrypts_with(self, key: bytes) -> bool:
        """Whether ``key`` is the first of this list (the one that encrypts)."""
        return secrets.compare_digest(key, self._first_key)

    def encrypt(self, token: str) -> str:
        return self._all.encrypt(token.encode()).decode()

    def decrypt(self, encrypted: str, *, account_label: str = "this account") -> str:
        try:
            return self._all.decrypt(encrypted.encode()).decode()
        except InvalidToken:
            what = f"the stored token of {account_label}"
            raise TokenUnreadable(self._unreadable(what)) from None

    def reencrypt(self, encrypted: str, *, what: str) -> str | None:
        """``encrypted`` under the first key, or None when it is under the first key already.
        ``what`` names it in the error ("the stored access token of account 3 (Acme Page)")."""
        with contextlib.suppress(InvalidToken):
            self._first.decrypt(encrypted.encode())
            return None
        try:
            return self._all.rotate(encrypted.encode()).decode()
        except InvalidToken:
            raise TokenUnreadable(self._unreadable(what)) from None

    def _unreadable(self, what: str) -> str:
        keys = "the secret key" if self.key_count == 1 else f"any of the {self.key_count} keys"
        return (
            f"{what} cannot be decrypted with {keys} from {self.source}; if it was encrypted "
            "with a key you have removed, put that key back (after the first), else reconnect "
            "the account (omnipost account reconnect)"
        )
