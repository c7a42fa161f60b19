"""Parts of a backup, encrypted as a stream of AES-256-GCM chunks under the backup key.

A part file is MAGIC | salt (16) | chunks; each chunk is a 4-byte length and its ciphertext
with tag. The part's key is HKDF(backup key, salt, part name); chunk i's nonce is i (11 bytes)
and a last-chunk flag, so chunks cannot be reordered, dropped, swapped between parts, and the
part cannot be cut short after a chunk boundary (the last chunk says it is the last). Memory
stays at one chunk whatever the size of the database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.private import new_private_file

MAGIC = b"CWBACKUP1\n"
SALT_BYTES = 16
CHUNK = 1 << 20
_LENGTH = 4
_TAG = 16


class BackupBroken(Exception):
    """A part was altered, cut short, swapped, or opened with another backup key."""


def _part_key(backup_key: bytes, salt: bytes, name: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                   info=f"cellwatch backup part {name}".encode()).derive(backup_key)
    return AESGCM(derived)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class PartWriter:
    """A writable file object (for tarfile, a copy loop) that encrypts what it is given.
    `close()` writes the last chunk; `sha256` (of the part file) and `plain_sha256` and
    `plain_bytes` (of what was written) are known once it is closed."""

    def __init__(self, path: Path, backup_key: bytes, name: str) -> None:
        salt = os.urandom(SALT_BYTES)
        self._aead, self._name = _part_key(backup_key, salt, name), name.encode()
        self._file: BinaryIO = new_private_file(path)  # closed by close() or abandon()
        self._digest, self._plain = hashlib.sha256(), hashlib.sha256()
        self._buffer, self._index, self.plain_bytes = bytearray(), 0, 0
        self._out(MAGIC + salt)

    def _out(self, data: bytes) -> None:
        self._file.write(data)
        self._digest.update(data)

    def _chunk(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, last), plain, self._name)
        self._out(len(sealed).to_bytes(_LENGTH, "big") + sealed)
        self._index += 1

    def write(self, data: bytes) -> int:
        self._plain.update(data)
        self.plain_bytes += len(data)
        self._buffer += data
        while len(self._buffer) > CHUNK:  # strictly more: the last chunk is written by close
            self._chunk(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        if self._file.closed:
            return
        self._chunk(bytes(self._buffer), last=True)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self.sha256, self.plain_sha256 = self._digest.hexdigest(), self._plain.hexdigest()

    def abandon(self) -> None:
        self._file.close()


def read_part(path: Path, backup_key: bytes, name: str) -> Iterator[bytes]:
    """The plain content of a part, chunk by chunk, each authenticated before it is given."""
    with open(path, "rb") as handle:
        head = handle.read(len(MAGIC) + SALT_BYTES)
        if len(head) < len(MAGIC) + SALT_BYTES or not head.startswith(MAGIC):
            raise BackupBroken(f"{path.name} is not a Cellwatch backup part")
        aead, index = _part_key(backup_key, head[len(MAGIC):], name), 0
        while True:
            length = handle.read(_LENGTH)
            if len(length) < _LENGTH:
                raise BackupBroken(f"{path.name} is cut short (no last chunk)")
            size = int.from_bytes(length, "big")
            sealed = handle.read(size)
            if size < _TAG or len(sealed) < size:
                raise BackupBroken(f"{path.name} is cut short in chunk {index}")
            for last in (False, True):
                try:
                    plain = aead.decrypt(_nonce(index, last), sealed, name.encode())
                    break
                except InvalidTag:
                    continue
            else:
                raise BackupBroken(f"{path.name}: chunk {index} fails authentication (altered, "
                                   "or another backup key)")
            yield plain
            if last:
                if handle.read(1):
                    raise BackupBroken(f"{path.name} has data after its last chunk")
                return
            index += 1


class PartReader:
    """A readable file object over `read_part`, for tarfile's stream mode."""

    def __init__(self, path: Path, backup_key: bytes, name: str) -> None:
        self._chunks = read_part(path, backup_key, name)
        self._buffer, self._at = b"", 0

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if self._at >= len(self._buffer):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._buffer, self._at = chunk, 0
            take = len(self._buffer) - self._at if size < 0 else min(
                size - len(out), len(self._buffer) - self._at)
            out += self._buffer[self._at:self._at + take]
            self._at += take
        return bytes(out)
