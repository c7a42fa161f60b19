"""WebAuthn security keys (py_webauthn): registering, using and removing them.

Each ceremony's challenge is kept on the browser session that asked for it, with what it is
for and when it lapses, and is taken once by a conditional UPDATE: a replayed or raced answer
finds it gone. A key's signature counter must go up at each use; one that does not is refused
as a possible clone. Audit events name a key by its row id and credential id, never by its
public key.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, func, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.audit.service import Actor, record
from app.auth import factors
from app.auth.models import SecurityKey, User, UserSession
from app.db import utcnow
from app.errors import AppError, Conflict, NotFound, Unprocessable
from app.settings import Settings

Purpose = Literal["register", "sign-in"]
RP_NAME = "Cellwatch"
TIMEOUT_MS = 120_000  # how long the browser waits for a touch; the challenge lives longer


class KeyRefused(AppError):
    """A security-key answer that does not hold; the route returns it (not raises) so that
    its audit event and the spent challenge are committed while nothing else changes."""

    status_code = 400
    title = "Security key refused"


def list_for(session: Session, user_id: int) -> list[SecurityKey]:
    return list(session.exec(select(SecurityKey).where(SecurityKey.user_id == user_id)
                             .order_by(col(SecurityKey.id))).all())


def _count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(SecurityKey)
                        .where(SecurityKey.user_id == user_id)).one()


def _user_handle(user: User) -> bytes:
    # The WebAuthn user handle: opaque and free of personal data (the row id, not the name).
    return f"cellwatch-user-{user.id}".encode()


def _issue(session: Session, settings: Settings, row: UserSession, purpose: Purpose,
           challenge: bytes) -> None:
    """Keep the challenge on the session; a newer ceremony replaces an older one."""
    stored = session.get(UserSession, row.id)
    if stored is None:
        raise Conflict("Your session has ended. Sign in again.")
    stored.key_challenge = bytes_to_base64url(challenge)
    stored.key_purpose = purpose
    stored.key_challenge_expires_at = utcnow() + timedelta(
        seconds=settings.webauthn_challenge_seconds)
    session.add(stored)
    session.flush()


def _take(session: Session, row: UserSession, purpose: Purpose) -> bytes | None:
    """The session's challenge for `purpose`, spent now whatever the answer turns out to be;
    None when there is none, it lapsed, it was for something else or another request took it."""
    stored = session.get(UserSession, row.id)
    if stored is None:
        return None
    session.refresh(stored)
    challenge, kind, expires = (stored.key_challenge, stored.key_purpose,
                                stored.key_challenge_expires_at)
    if not challenge:
        return None
    taken = session.execute(
        update(UserSession).where(col(UserSession.id) == stored.id,
                                  col(UserSession.key_challenge) == challenge)
        .values(key_challenge="", key_purpose="", key_challenge_expires_at=None))
    session.refresh(stored)
    if taken.rowcount != 1 or kind != purpose:  # type: ignore[attr-defined]
        return None
    if expires is None or expires <= utcnow():
        return None
    return base64url_to_bytes(challenge)


NO_CHALLENGE = ("This security-key request has expired or was already used. Start again "
                "with the button on the page.")


def registration_options(session: Session, settings: Settings, row: UserSession,
                         user: User) -> dict[str, Any]:
    """Options for navigator.credentials.create(); the user's keys are excluded, so that the
    same key is not registered twice."""
    if _count(session, user.id or 0) >= settings.security_keys_per_user:
        raise Conflict(f"You have {settings.security_keys_per_user} security keys, the most "
                       "allowed. Remove one before adding another.")
    options = generate_registration_options(
        rp_id=settings.webauthn_rp_id, rp_name=RP_NAME, user_name=user.username,
        user_id=_user_handle(user), user_display_name=user.display_name or user.username,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                             for k in list_for(session, user.id or 0)])
    _issue(session, settings, row, "register", options.challenge)
    return json.loads(options_to_json(options))


def register(session: Session, settings: Settings, actor: Actor, user: User, row: UserSession,
             *, name: str, credential: dict[str, Any]) -> SecurityKey:
    """Verify the browser's answer to the registration options and keep the key."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 64:
        raise Unprocessable("Give the security key a name of 1 to 64 characters, such as "
                            "\"blue key on my lanyard\".")
    if _count(session, user.id or 0) >= settings.security_keys_per_user:
        raise Conflict(f"You have {settings.security_keys_per_user} security keys, the most "
                       "allowed. Remove one before adding another.")
    challenge = _take(session, row, "register")
    credential_id = str(credential.get("id", ""))[:1400]
    if challenge is None:
        _refused(session, actor, "user.security_key_add", user, credential_id, "no challenge")
        raise KeyRefused(NO_CHALLENGE)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_expected_origins)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        _refused(session, actor, "user.security_key_add", user, credential_id, str(exc))
        raise KeyRefused("The security key's answer could not be verified, so it was not "
                         "added. Try again from this page.", detail={"reason": str(exc)}
                         ) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.exec(select(SecurityKey.id).where(
            SecurityKey.credential_id == credential_id)).first() is not None:
        _refused(session, actor, "user.security_key_add", user, credential_id, "already held")
        raise KeyRefused("This security key is already registered.")
    key = SecurityKey(user_id=user.id or 0, name=name, credential_id=credential_id,
                      public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, aaguid=verified.aaguid)
    session.add(key)
    session.flush()
    record(session, actor, "user.security_key_add", object_type="security_key",
           object_ids=[key.id or 0], details={"user_id": user.id, "name": name,
                                              "credential_id": credential_id,
                                              "aaguid": verified.aaguid})
    return key


def authentication_options(session: Session, settings: Settings, row: UserSession,
                           user: User) -> dict[str, Any]:
    """Options for navigator.credentials.get(), listing only this user's keys."""
    keys = list_for(session, user.id or 0)
    if not keys:
        raise NotFound("You have no security key. Use your authenticator app's code.")
    options = generate_authentication_options(
        rp_id=settings.webauthn_rp_id, timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                           for k in keys],
        user_verification=UserVerificationRequirement.PREFERRED)
    _issue(session, settings, row, "sign-in", options.challenge)
    return json.loads(options_to_json(options))


def verify(session: Session, settings: Settings, user: User, row: UserSession,
           credential: dict[str, Any]) -> SecurityKey:
    """The key that signed this sign-in answer; KeyRefused (with the reason for the audit
    event in `detail`) when the answer does not hold. The counter is moved on here."""
    challenge = _take(session, row, "sign-in")
    if challenge is None:
        raise KeyRefused(NO_CHALLENGE, detail={"reason": "no challenge"})
    credential_id = str(credential.get("id", ""))
    key = session.exec(select(SecurityKey).where(
        SecurityKey.user_id == user.id, SecurityKey.credential_id == credential_id)).first()
    if key is None:
        raise KeyRefused("That security key is not registered to your account.",
                         detail={"reason": "unknown credential"})
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_expected_origins,
            credential_public_key=key.public_key, credential_current_sign_count=key.sign_count)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        if "sign count" in str(exc):
            raise KeyRefused(
                "This security key's use counter went backwards, which a copied key does. It "
                "was refused; tell your administrator.",
                detail={"reason": f"counter regression: {exc}", "key": key.id}) from None
        raise KeyRefused("The security key's answer could not be verified. Try again.",
                         detail={"reason": str(exc), "key": key.id}) from None
    # only forward, and only once: a concurrent use of the same count finds no row
    moved = session.execute(
        update(SecurityKey).where(col(SecurityKey.id) == key.id,
                                  col(SecurityKey.sign_count) == key.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow()))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise KeyRefused("This security key was used twice at once; try again.",
                         detail={"reason": "counter raced", "key": key.id})
    session.refresh(key)
    return key


def remove(session: Session, settings: Settings, actor: Actor, user: User,
           key_id: int) -> SecurityKey:
    key = session.get(SecurityKey, key_id)
    if key is None or key.user_id != user.id:
        raise NotFound("You have no security key with that id.")
    if (settings.factor_required and not factors.has_factor(session, user.id or 0)
            and _count(session, user.id or 0) == 1):
        raise Conflict("This is your only second factor. Add another security key or set up "
                       "an authenticator app before removing it.")
    session.delete(key)
    session.flush()
    record(session, actor, "user.security_key_remove", object_type="security_key",
           object_ids=[key_id], details={"user_id": user.id, "name": key.name,
                                         "credential_id": key.credential_id})
    return key


def _refused(session: Session, actor: Actor, action: str, user: User, credential_id: str,
             reason: str) -> None:
    record(session, actor, action, object_type="user", object_ids=[user.id or 0],
           outcome="failure", details={"credential_id": credential_id, "reason": reason[:300]})
