"""The issuer's RS256 signing keys, kept in one file so every process signs and verifies alike.

The gateway and ``aizu dev token`` are separate processes: both read ``keys.json``, and each notices
when another has rewritten it (rotation, pruning). The file holds private keys, so it is created
0600 inside a 0700 directory and replaced atomically, never edited in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from joserfc.jwk import KeySet, RSAKey

from gateway.devissuer import lifetimes

Clock = Callable[[], float]
KEY_FILE = "keys.json"
ALGORITHM = "RS256"
KEY_BITS = 2048


class StoredKey(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    created_at: int
    #: When it stopped signing; it stays published until every token it signed has expired.
    retired_at: int | None = None
    private_jwk: dict[str, Any]


class KeyFile(msgspec.Struct, frozen=True, kw_only=True):
    keys: tuple[StoredKey, ...]


class KeyFileError(Exception):
    """``keys.json`` cannot be used; deleting it makes new keys (and invalidates issued tokens)."""


def _new_key(now: int) -> StoredKey:
    key = RSAKey.generate_key(KEY_BITS, parameters={"alg": ALGORITHM, "use": "sig"}, private=True)
    kid = key.thumbprint()  # RFC 7638: the same key always gets the same id
    return StoredKey(kid=kid, created_at=now, private_jwk={**key.as_dict(private=True), "kid": kid})


class KeyStore:
    """Signing keys under ``directory``: one active, older ones retained for verification only."""

    def __init__(self, directory: Path | str, clock: Clock = time.time) -> None:
        self._dir = Path(directory)
        self._path = self._dir / KEY_FILE
        self._clock = clock
        self._version: tuple[int, int, int] | None = None
        self._keys: tuple[StoredKey, ...] = ()
        self._cache: dict[str, RSAKey] = {}
        self._load_or_create()

    @property
    def path(self) -> Path:
        return self._path

    # --- reading -------------------------------------------------------------------------------

    def signing_key(self) -> RSAKey:
        return self._imported(self._current()[-1])

    def verification_keys(self) -> KeySet:
        return KeySet([self._imported(k) for k in self._current()])

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWKS served at ``certs``: the active key and every retained one, public parts only."""
        return {"keys": [self._public(k) for k in self._current()]}

    def kids(self) -> list[str]:
        return [k.kid for k in self._current()]

    # --- changing ------------------------------------------------------------------------------

    def rotate(self) -> str:
        """Start signing with a new key; the old one keeps verifying until its tokens have expired."""
        self._reload_if_changed()
        now = int(self._clock())
        kept = [k if k.retired_at is not None else msgspec.structs.replace(k, retired_at=now) for k in self._keys]
        new = _new_key(now)
        self._write([*self._prunable(kept, now), new])
        return new.kid

    # --- internals -----------------------------------------------------------------------------

    def _imported(self, key: StoredKey) -> RSAKey:
        # Loading an RSA private key checks it, which costs milliseconds: once per key, not per token.
        found = self._cache.get(key.kid)
        if found is None:
            found = self._cache[key.kid] = RSAKey.import_key(key.private_jwk)
        return found

    def _public(self, key: StoredKey) -> dict[str, Any]:
        public = self._imported(key).as_dict(private=False)
        return {"kid": key.kid, "kty": "RSA", "alg": ALGORITHM, "use": "sig", "n": public["n"], "e": public["e"]}

    @staticmethod
    def _prunable(keys: list[StoredKey], now: int) -> list[StoredKey]:
        return [k for k in keys if k.retired_at is None or now < k.retired_at + lifetimes.KEY_RETENTION]

    def _current(self) -> tuple[StoredKey, ...]:
        """Keys as on disk now, with those whose tokens have all expired dropped (and the drop saved)."""
        self._reload_if_changed()
        kept = self._prunable(list(self._keys), int(self._clock()))
        if len(kept) != len(self._keys):
            self._write(kept)
        return self._keys

    def _stat_version(self) -> tuple[int, int, int] | None:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return None
        # The inode changes on every atomic replace, so this notices rewrites within one mtime tick.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        version = self._stat_version()
        if version is None:
            self._load_or_create()
        elif version != self._version:
            self._read()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            if stat.S_IMODE(self._path.stat().st_mode) & 0o077:
                self._path.chmod(0o600)  # private keys: a copied or restored file may be too open
        try:
            version = self._stat_version()
            data = msgspec.json.decode(self._path.read_bytes(), type=KeyFile)
        except (OSError, msgspec.DecodeError) as exc:
            raise KeyFileError(f"{self._path}: cannot read signing keys: {exc}; delete it to make new keys") from exc
        if not data.keys or sum(k.retired_at is None for k in data.keys) != 1:
            raise KeyFileError(f"{self._path}: expected exactly one active key; delete it to make new keys")
        # The active key last: signing_key() takes keys[-1].
        self._keys = tuple(sorted(data.keys, key=lambda k: (k.retired_at is None, k.created_at)))
        self._cache = {k.kid: v for k, v in ((k, self._cache.get(k.kid)) for k in self._keys) if v is not None}
        self._version = version

    def _load_or_create(self) -> None:
        if self._path.exists():
            self._read()
            return
        self._write([_new_key(int(self._clock()))], exclusive=True)

    def _write(self, keys: list[StoredKey], *, exclusive: bool = False) -> None:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = msgspec.json.encode(KeyFile(keys=tuple(keys)))
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".keys-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            if exclusive:
                # Two processes starting together on a fresh var/ must end up with the same key:
                # link() fails if the other won, and then its file is the one both use.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self._path)
            else:
                os.replace(tmp, self._path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._read()
