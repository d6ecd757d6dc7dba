"""The secret that keys an index's fingerprints, and where it comes from.

A keyed index stores SipHash-2-4 values of its k-grams under a 128-bit key (Rust
``fingerprint/key.rs``), so whoever holds the index files cannot fingerprint a guessed sentence and
look it up. The user's secret (any bytes, at least 16) is stretched into that key with BLAKE2b, so
a hex string, a raw random file or a passphrase-like token all work; an index stores only a check
value of the key (SipHash of a fixed message), never the key.

Where a command finds the secret, first match wins: ``--key-file PATH``; ``NEARCOPY_KEY`` (hex);
``NEARCOPY_KEY_FILE`` (a path). Secrets travel as file names or the inherited environment, so they
never appear in a process listing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from nearcopy import _core

KEY_ENV = "NEARCOPY_KEY"
KEY_FILE_ENV = "NEARCOPY_KEY_FILE"
# 128 bits: a shorter secret could be found by trying every value against the stored check value.
MIN_SECRET_BYTES = 16
# BLAKE2b personalization: the derived key is for fingerprints only.
_PERSON = b"nearcopy-fp-key"


class KeyFileError(ValueError):
    """A key file or ``NEARCOPY_KEY`` that cannot be read or holds too short a secret."""


def fingerprint_key(secret: bytes) -> bytes:
    """The 16-byte SipHash key derived from ``secret`` (at least 16 bytes)."""
    if not isinstance(secret, bytes | bytearray | memoryview):
        raise TypeError(f"a key is bytes, got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(f"a key needs at least {MIN_SECRET_BYTES} bytes of secret, got {len(secret)}")
    return hashlib.blake2b(bytes(secret), digest_size=16, person=_PERSON).digest()


def key_check(key: bytes) -> str:
    """What the manifest stores of a derived key: 16 hex digits that identify it, not the key."""
    return f"{_core.fingerprint_key_check(key):016x}"


def parse_secret(raw: bytes, where: str) -> bytes:
    """A secret from a file's or variable's bytes: hex text (32 digits or more) is decoded, anything
    else is taken as raw bytes."""
    text = raw.strip()
    try:
        decoded = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        decoded = b""
    secret = decoded if len(decoded) >= MIN_SECRET_BYTES else raw
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(
            f"{where}: a key needs at least {MIN_SECRET_BYTES} bytes (or {2 * MIN_SECRET_BYTES} hex "
            f"digits), got {len(secret)}; make one with `nearcopy index keygen`"
        )
    return secret


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise KeyFileError(f"{path}: cannot read the key file: {err.strerror or err}") from None
    return parse_secret(raw, str(path))


def find_secret(key_file: str | None, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The secret of ``--key-file``, else of ``NEARCOPY_KEY``, else of ``NEARCOPY_KEY_FILE``; None
    when none is given (an unkeyed index)."""
    env = os.environ if environ is None else environ
    if key_file:
        return read_key_file(key_file)
    if env.get(KEY_ENV):
        try:
            secret = bytes.fromhex(env[KEY_ENV].strip())
        except ValueError:
            raise KeyFileError(f"{KEY_ENV} must hold hex digits") from None
        if len(secret) < MIN_SECRET_BYTES:
            raise KeyFileError(f"{KEY_ENV} must hold at least {2 * MIN_SECRET_BYTES} hex digits")
        return secret
    if env.get(KEY_FILE_ENV):
        return read_key_file(env[KEY_FILE_ENV])
    return None


def new_secret() -> str:
    """A fresh 256-bit secret as hex, for a key file."""
    return secrets.token_hex(32)
