"""The second factor: TOTP (RFC 6238, pyotp) and single-use recovery codes.

The TOTP secret is sealed (AES-256-GCM) with a key derived from the master key, so that a copy
of the database alone does not give anyone the codes. Recovery codes are random and only their
sha256 is kept, like API keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from app.audit.service import Actor, record
from app.auth.models import RecoveryCode, SecurityKey, TotpFactor, User
from app.db import utcnow
from app.errors import Unprocessable
from app.settings import Settings

ISSUER = "Cellwatch"
RECOVERY_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
WRONG_CODE = "That code is not right (or was used already). Try the next one your app shows."


def _sealer(master: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cellwatch totp secret").derive(master)
    return AESGCM(key)


def seal(settings: Settings, user_id: int, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _sealer(settings.master_key_bytes).encrypt(nonce, secret.encode(),
                                                        f"totp:{user_id}".encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal_with_id(settings: Settings, user_id: int, sealed: str) -> tuple[str, str]:
    """(secret, id of the master key that sealed it): the current key first, then older ones
    still listed while `cellwatch keys rotate` re-seals every secret under the current one."""
    raw = base64.b64decode(sealed)
    for key_id, master in settings.key_ring.items():
        try:
            plain = _sealer(master).decrypt(raw[:12], raw[12:], f"totp:{user_id}".encode())
        except InvalidTag:
            continue
        return plain.decode(), key_id
    raise InvalidTag("the secret opens under no configured master key")


def unseal(settings: Settings, user_id: int, sealed: str) -> str:
    return unseal_with_id(settings, user_id, sealed)[0]


def factor_of(session: Session, user_id: int) -> TotpFactor | None:
    return session.exec(select(TotpFactor).where(TotpFactor.user_id == user_id)).first()


def has_factor(session: Session, user_id: int) -> bool:
    row = factor_of(session, user_id)
    return row is not None and row.confirmed_at is not None


def has_second_factor(session: Session, user_id: int) -> bool:
    """An authenticator app or a security key: either lets the user finish signing in."""
    return has_factor(session, user_id) or session.exec(
        select(SecurityKey.id).where(SecurityKey.user_id == user_id)).first() is not None


def start_setup(session: Session, settings: Settings, actor: Actor, user: User, *,
                via: str) -> str:
    """A new secret, kept pending until a code made from it is entered; returns it. Audited:
    whoever holds the secret can make the user's codes once it is confirmed."""
    secret = pyotp.random_base32()
    row = factor_of(session, user.id or 0) or TotpFactor(user_id=user.id or 0)
    replaced_pending = bool(row.pending)
    row.pending = seal(settings, user.id or 0, secret)
    session.add(row)
    session.flush()
    record(session, actor, "user.factor_setup", object_type="user", object_ids=[user.id or 0],
           details={"method": "totp", "via": via, "replaced_pending": replaced_pending})
    return secret


def pending_secret(session: Session, settings: Settings, user: User) -> str | None:
    row = factor_of(session, user.id or 0)
    return unseal(settings, user.id or 0, row.pending) if row and row.pending else None


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG, made here: the secret never leaves for a QR service."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _match_step(secret: str, code: str, after: int) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is, if that
    step is later than the last one accepted."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _digits(code: str) -> str:
    return "".join(code.split())


def confirm_setup(session: Session, settings: Settings, actor: Actor, user: User,
                  code: str) -> list[str]:
    """Make the pending secret the user's factor once a code from it is right; returns new
    recovery codes (shown once)."""
    row = factor_of(session, user.id or 0)
    if row is None or not row.pending:
        raise Unprocessable("Start the set-up again: no authenticator is waiting to be "
                            "confirmed.")
    secret = unseal(settings, user.id or 0, row.pending)
    step = _match_step(secret, _digits(code), 0)
    if step is None:
        raise Unprocessable("That code does not match: check the app's clock and type the "
                            "six digits it shows now.")
    replaced = row.confirmed_at is not None
    row.secret, row.pending, row.confirmed_at, row.last_step = row.pending, "", utcnow(), step
    session.add(row)
    codes = new_recovery_codes(session, user.id or 0)
    record(session, actor, "user.factor_enrol", object_type="user", object_ids=[user.id or 0],
           details={"method": "totp", "replaced": replaced, "recovery_codes": len(codes)})
    return codes


def verify(session: Session, settings: Settings, user: User, code: str) -> str | None:
    """Check a code: six digits against the authenticator, anything else as a recovery code.
    Each works once. Returns which kind worked, or None."""
    code = _digits(code)
    row = factor_of(session, user.id or 0)
    if row is None or row.confirmed_at is None:
        return None
    if code.isdigit() and len(code) == 6:
        step = _match_step(unseal(settings, user.id or 0, row.secret), code, row.last_step)
        if step is None:
            return None
        row.last_step = step
        session.add(row)
        return "totp"
    found = session.exec(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code),
        col(RecoveryCode.used_at).is_(None))).first()
    if found is None:
        return None
    found.used_at = utcnow()
    session.add(found)
    return "recovery code"


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").upper().encode()).hexdigest()


def new_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Ten fresh codes (60 bits each); any earlier ones stop working."""
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        session.add(RecoveryCode(user_id=user_id, code_hash=_recovery_hash(raw)))
    session.flush()
    return codes


def recovery_codes_left(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))).one()


def remove(session: Session, user_id: int) -> bool:
    """Forget a user's authenticator, recovery codes and security keys (a reset); True if
    there was any of them."""
    had = has_second_factor(session, user_id)
    session.execute(delete(SecurityKey).where(col(SecurityKey.user_id) == user_id))
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    session.execute(delete(TotpFactor).where(col(TotpFactor.user_id) == user_id))
    return had
