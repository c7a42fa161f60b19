"""Tables of the auth domain: users, second factors, grants, server-side sessions, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    must_change_password: bool = True
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A browser session; the cookie holds a random token, the table only its sha256."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    client_addr: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    flashes: str = Field(default="[]", max_length=4000)
    # When the second factor was last checked in this session; None: not yet (the session
    # stops at the code page) or the user has none (development only).
    factor_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The one security-key ceremony this session has under way (app/auth/securitykeys.py):
    # its challenge (base64url), what it is for, and when it lapses. Taken once.
    key_challenge: str = Field(default="", max_length=128)
    key_purpose: str = Field(default="", max_length=16)
    key_challenge_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TotpFactor(SQLModel, table=True):
    """A user's authenticator (RFC 6238). Secrets are sealed with the master key; `pending`
    holds one being set up until a first code proves it was scanned."""

    __tablename__ = "totp_factor"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    secret: str = Field(default="", max_length=255)
    pending: str = Field(default="", max_length=255)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the last time step accepted: a code works once (RFC 6238, 5.2)
    last_step: int = Field(default=0, sa_type=BigInteger)


class SecurityKey(SQLModel, table=True):
    """A WebAuthn credential (a security key) registered by a user, named by them. The public
    key is COSE-encoded as the key gave it; the signature counter only ever goes up."""

    __tablename__ = "security_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=64)
    # base64url of the credential id (at most 1,023 bytes by the WebAuthn spec)
    credential_id: str = Field(max_length=1400, unique=True)
    public_key: bytes = Field(sa_type=LargeBinary)
    sign_count: int = Field(default=0, sa_type=BigInteger)
    aaguid: str = Field(default="", max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    """One of ten single-use codes for a lost authenticator; only its sha256 is kept."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EnrolmentCode(SQLModel, table=True):
    """A one-time code with which a new (or reset) user sets a password and an authenticator."""

    __tablename__ = "enrolment_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GrantProposal(SQLModel, table=True):
    """A grant of access proposed by one person, in effect only once a second approves."""

    __tablename__ = "grant_proposal"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # create | role | reset
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    username: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)  # the role in effect once approved
    from_role: str = Field(default="", max_length=16)
    status: str = Field(default="pending", max_length=16, index=True)
    proposed_by: int = Field(foreign_key="app_user.id")
    proposed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
