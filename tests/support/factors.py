"""Test users have an authenticator, and the sign-in helpers answer its code as a person would.

`enrol` gives a user a confirmed TOTP factor; `totp_code` makes the code the server will accept
next (each time step works once, RFC 6238 5.2): the current step, else the one after it, which
the server allows for clock drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
from sqlmodel import Session, select

from app.auth import factors
from app.auth.models import TotpFactor, User
from app.db import utcnow
from app.settings import Settings


def enrol(session: Session, settings: Settings, user: User) -> str:
    """Give `user` a confirmed authenticator; returns its secret."""
    secret = pyotp.random_base32()
    session.add(TotpFactor(user_id=user.id or 0, secret=factors.seal(settings, user.id or 0,
                                                                      secret),
                           confirmed_at=utcnow()))
    session.flush()
    return secret


def totp_code(session_factory: Callable[[], Session], settings: Settings, username: str) -> str:
    """The next code the server accepts for this user (read through the test's own
    transaction)."""
    with session_factory() as db:
        user = db.exec(select(User).where(User.username == username)).one()
        row = factors.factor_of(db, user.id or 0)
        assert row is not None and row.confirmed_at is not None, f"{username} has no factor"
        secret, last = factors.unseal(settings, user.id or 0, row.secret), row.last_step
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(utcnow())
        step = max(now, last + 1)
        if step <= now + 1:
            return totp.generate_otp(step)
        # three sign-ins of one user within 30 s: the next code exists only in the next step
        time.sleep(max(0.0, (now + 1) * 30 - time.time()) + 0.05)
