"""AES-256-GCM for stored images: a key per image, wrapped (RFC 3394) by the master key.

A sealed blob is MAGIC | nonce | ciphertext+tag. The header is our own so a stored file never
starts with an image signature (nothing can sniff or serve it as a picture), and the AAD binds
the blob to its storage key and kind, so files swapped on disk fail authentication.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

MAGIC = b"CWSEAL1\n"
NONCE_BYTES = 12
KEY_BYTES = 32


class SealBroken(Exception):
    """The blob was altered, truncated, swapped, or opened with the wrong key."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def wrap_key(master: bytes, key: bytes) -> bytes:
    return aes_key_wrap(master, key)


def master_for(ring: dict[str, bytes], key_id: str) -> bytes:
    """The master key with this id (settings.key_ring), or why it cannot be had."""
    try:
        return ring[key_id]
    except KeyError:
        raise SealBroken(f"master key {key_id!r} is not configured (CELLWATCH_MASTER_KEY_ID "
                         "or CELLWATCH_OLD_MASTER_KEYS)") from None


def unwrap_key(master: bytes, wrapped: bytes) -> bytes:
    if not wrapped:
        raise SealBroken("the key was destroyed (image erased)")
    try:
        return aes_key_unwrap(master, wrapped)
    except InvalidUnwrap as exc:
        raise SealBroken("the image key does not unwrap under the master key") from exc


def _aad(storage_key: str, kind: str) -> bytes:
    return MAGIC + f"{storage_key}/{kind}".encode()


def seal(key: bytes, plaintext: bytes, *, storage_key: str, kind: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonce: each key seals only a few blobs
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, _aad(storage_key, kind))


def unseal(key: bytes, blob: bytes, *, storage_key: str, kind: str) -> bytes:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + 16:
        raise SealBroken("not a sealed Cellwatch file")
    nonce = blob[len(MAGIC):len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES:],
                                   _aad(storage_key, kind))
    except InvalidTag as exc:
        raise SealBroken("authentication failed: the file was altered or swapped") from exc
