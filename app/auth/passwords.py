"""argon2id password hashing and the password policy."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256


def production_hasher() -> PasswordHasher:
    """argon2id with the library's recommended parameters (RFC 9106's low-memory profile)."""
    return PasswordHasher()


@dataclass
class _Hashing:
    hasher: PasswordHasher
    # Verified against when the username is unknown, so that timing does not reveal who
    # exists: made at once, with the same parameters as real hashes.
    dummy: str = field(init=False)

    def __post_init__(self) -> None:
        self.dummy = self.hasher.hash(secrets.token_urlsafe(16))


_current = _Hashing(production_hasher())


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with other parameters; returns the hasher in use until now.

    Only the test suite calls this (cheap parameters, so that a sign-in costs microseconds);
    production keeps `production_hasher()`. Verifying reads the parameters from each stored
    hash, so hashes made either way still verify.
    """
    global _current
    previous, _current = _current.hasher, _Hashing(hasher)
    return previous


def hash_password(password: str) -> str:
    return _current.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hashing = _current
    try:
        return (hashing.hasher.verify(password_hash or hashing.dummy, password)
                and bool(password_hash))
    except (VerificationError, InvalidHashError):
        return False


def policy_problem(password: str, username: str = "") -> str | None:
    """Why this password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters."
    if username and username.lower() in password.lower():
        return "The password must not contain the username."
    return None


def one_time_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters
