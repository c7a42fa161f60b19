"""One Settings object, read from CELLWATCH_* environment variables (and a .env file)."""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.matching import thresholds
from app.video.caps import Caps, Limits

# A fixed, publicly known key so that development needs no setup; production refuses it.
DEV_MASTER_KEY = base64.b64encode(b"cellwatch-development-only-key!!").decode()
DEV_AUDIT_KEY = base64.b64encode(b"cellwatch-dev-only-audit-chain!!").decode()
DEV_BACKUP_KEY = base64.b64encode(b"cellwatch-dev-only-backup-key!!!").decode()
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


AUDIT_MONTHS_MIN, AUDIT_MONTHS_MAX = 13, 24


class Environment(StrEnum):
    development = "development"
    production = "production"


class UnsafeSettingsError(RuntimeError):
    """Raised at start-up when production settings would be unsafe."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CELLWATCH_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Environment = Environment.development
    database_url: str = ""  # empty: a SQLite file inside data_dir
    # PostgreSQL: migrations run as the tables' owner; the app connects (database_url) as a
    # role that may only INSERT and SELECT audit_event. Empty: migrate with database_url.
    migrate_database_url: str = ""
    data_dir: Path = Path("data")
    master_key: str = DEV_MASTER_KEY  # base64 of 32 bytes; wraps every image's own key
    # The master key's id, recorded beside each wrapped image key. Rotation: make the new key
    # current under a new id, list the former one in old_master_keys (JSON {"id": "base64"}),
    # restart, run `cellwatch keys rotate`; once it has finished the old key can go.
    master_key_id: str = "1"
    old_master_keys: dict[str, str] = {}
    # base64 of 32 bytes: encrypts and authenticates backups (`cellwatch backup`). Kept apart
    # from the data (a backup holds no key that opens it).
    backup_key: str = DEV_BACKUP_KEY
    # Where `cellwatch backup` puts each backup's image and pack keys, apart from the backup
    # itself (empty: <data_dir>/backup-keys). Erasing an image or pack removes its key from
    # every key part there (app/keyscrub.py); key parts older than backup_keys_days are
    # deleted by the next backup. A folder set here must exist (it is on other storage).
    backup_keys_dir: str = ""
    backup_keys_days: int = Field(default=35, ge=1, le=3650)
    # base64 of 32 bytes, kept outside the database: keys the audit chain (HMAC-SHA256), so
    # that someone with full database access cannot re-hash rewritten history
    audit_key: str = DEV_AUDIT_KEY
    # where `cellwatch audit checkpoint` appends a signed head and `audit verify` reads the
    # latest one; empty: audit-checkpoints.jsonl in data_dir. An auditor keeps a copy.
    audit_checkpoint_file: str = ""
    debug: bool = False
    api_docs: bool = True  # OpenAPI at /docs; must be off in production
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Sign-in throttles (app/auth/throttle.py), all within one sliding window: per client
    # address a growing delay after the free failures, then a block; an account is locked
    # only when many failures come from many addresses.
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_free_failures: int = Field(default=3, ge=1)
    login_max_delay_seconds: int = Field(default=60, ge=1, le=3600)
    login_address_block_failures: int = Field(default=20, ge=2)
    login_account_lock_failures: int = Field(default=50, ge=2)
    login_account_lock_addresses: int = Field(default=5, ge=2)
    login_lockout_minutes: int = Field(default=10, ge=1)
    # Wrong second-factor codes in a row (the password was right) that lock the account for
    # login_lockout_minutes: whoever has the password cannot try every code.
    login_max_failures: int = Field(default=5, ge=1)
    # Records of personal data one user may read (searches, dossiers, prisoner and cell pages,
    # images, candidates, packs: each listed id counts) per clock hour and per 24 hours; past
    # them 429 and an alert to the auditors. 0: no budget.
    read_budget_per_hour: int = Field(default=1500, ge=0)
    read_budget_per_day: int = Field(default=6000, ge=1)
    # Client addresses (or networks) of reverse proxies whose X-Forwarded-For is believed;
    # from anyone else the header is ignored. Empty: none.
    trusted_proxies: list[str] = []
    api_key_max_days: int = Field(default=90, ge=1, le=366)
    api_keys_per_user: int = Field(default=5, ge=1, le=50)  # live (unrevoked, unexpired) keys
    # Second factor (TOTP). Unset: required in production (a user without one is sent to set
    # one up), optional in development (signed in with a warning); production refuses false.
    second_factor_required: bool | None = None
    # Revealing a date of birth, opening a dossier and changing users or keys ask for the
    # code again when the last check in the session is older than this.
    step_up_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # WebAuthn security keys (a second factor beside the authenticator app). The relying
    # party id is the host name people browse to, never an IP address (browsers refuse one):
    # `make run` is used at http://localhost:8000. Origins are comma-separated, scheme and
    # port included; empty: http://localhost:<port>.
    webauthn_rp_id: str = Field(default="localhost", min_length=1, max_length=253)
    webauthn_origins: str = ""
    # a registration or sign-in with a key must finish this soon after it was started
    webauthn_challenge_seconds: int = Field(default=300, ge=30, le=900)
    security_keys_per_user: int = Field(default=10, ge=1, le=50)
    enrolment_hours: int = Field(default=24, ge=1, le=24 * 7)  # life of an enrolment code
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=50_000_000, ge=10_000)
    # Videos (stories, reels; app/video): what a clip may be, checked from its header before
    # anything is decoded (Caps), and what sampling one may cost in its sandbox (Limits).
    video_max_bytes: int = Field(default=200 * 2**20, ge=1024)
    video_max_seconds: float = Field(default=180.0, gt=0, le=3600)
    video_max_long_side: int = Field(default=3840, ge=16, le=16384)
    video_max_short_side: int = Field(default=2160, ge=16, le=16384)
    video_max_fps: float = Field(default=120.0, gt=0, le=1000)
    video_max_streams: int = Field(default=4, ge=1, le=64)
    video_max_animation_frames: int = Field(default=1000, ge=2, le=100_000)
    video_decode_seconds: float = Field(default=60.0, gt=0, le=3600)
    video_memory_bytes: int = Field(default=1536 * 2**20, ge=256 * 2**20)
    video_max_samples: int = Field(default=400, ge=1, le=10_000)
    # Decoding budgets (app/evidence/budget.py): decoded bytes = pixels x bytes per pixel.
    max_decode_bytes_per_file: int = Field(default=200 * 2**20, ge=2**20)
    max_decode_bytes_per_request: int = Field(default=2 * 2**30, ge=2**20)
    decode_budget_bytes: int = Field(default=512 * 2**20, ge=2**20)  # decoding at once, per process
    decode_wait_seconds: float = Field(default=60.0, gt=0, le=600)
    decode_threads: int = Field(default=2, ge=1, le=16)  # per process
    # Threads for requests, per process. A request's answer is serialised on one of these
    # before its transaction commits, so there must always be one free even when every other
    # request waits for the database (40, the default, deadlocked a burst of 50 uploads on
    # SQLite until the busy timeout freed it). At least server_max_connections + 16 are used.
    request_threads: int = Field(default=300, ge=16, le=2000)
    display_long_side: int = Field(default=1600, ge=200, le=4096)
    # Matching thresholds: the defaults are the ones bench/matching_accuracy.py justifies.
    match_global_max_distance: int = Field(default=thresholds.GLOBAL_MAX_DISTANCE, ge=0, le=32)
    match_verify_min_score: int = Field(default=thresholds.VERIFY_MIN_SCORE, ge=1)
    match_shortlist_global: int = Field(default=thresholds.SHORTLIST_GLOBAL, ge=0, le=256)
    match_shortlist_votes: int = Field(default=thresholds.SHORTLIST_VOTES, ge=0, le=256)
    match_second_look_from: int = Field(default=thresholds.SECOND_LOOK_FROM, ge=1)
    match_second_look_max: int = Field(default=thresholds.SECOND_LOOK_MAX, ge=0, le=16)
    local_timezone: str = "Europe/London"  # for "which day was this photo taken" in a prison
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    # Slow or silent clients (app/server.py, app/middleware.py BodyReadTimeout), per web
    # worker: connections and requests at once (past it, 503); a request head must arrive
    # whole within header_timeout; a body must not stall for body_idle seconds, nor trickle
    # in slower than body_min_rate bytes a second once body_idle seconds have passed.
    server_max_connections: int = Field(default=256, ge=2, le=100_000)
    server_header_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    server_keep_alive_seconds: float = Field(default=75.0, gt=0, le=3600)
    server_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    server_body_idle_seconds: float = Field(default=30.0, gt=0, le=600)
    server_body_min_rate: int = Field(default=4096, ge=0)
    # A request body sent to a public route (sign-in, enrolment) before anyone is signed in:
    # those forms are small, so nothing larger is read (app/auth/gate.py).
    public_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # Outgoing takedown notices: email channel (SMTP) and the timeout for every delivery.
    smtp_host: str = ""  # empty: the email channel reports "not configured" and sends nothing
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = "cellwatch@localhost"
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    delivery_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Where notices may go (app/takedowns/outbound.py), comma-separated: host names, domains
    # (".platform.example": it and its subdomains), IP addresses or networks. Private and
    # loopback addresses are reached only when an address or network listed here holds them.
    outbound_destinations: str = ""
    # How often each server process offers to link committed audit events into the chain
    # (one process at a time does it, under the chain's lock); 0 leaves it to `jobs run`.
    audit_link_seconds: float = Field(default=1.0, ge=0, le=3600)
    # Set what start-up built aside from the garbage collector's full passes (app/memory.py);
    # off for the tests, whose one process starts an app per test.
    gc_freeze_at_start: bool = True
    # SQLite: how often a server process gathers the query planner's statistics (ANALYZE,
    # sampled), at start and then every this many seconds; 0: never (the tests, whose
    # databases are small and whose one connection holds a transaction open).
    sqlite_statistics_seconds: float = Field(default=3600.0, ge=0, le=86400)
    # Match worker processes `cellwatch serve` starts beside the web workers, for the slow
    # second matching stage; 0: each web process runs it itself after its answer.
    match_workers: int = Field(default=1, ge=0, le=32)
    # A match worker's claim on a second stage lapses after this long (its process died), and
    # the stage is taken again; after this many attempts in all it is recorded as failed.
    match_lease_seconds: float = Field(default=120.0, gt=0, le=3600)
    match_attempts: int = Field(default=3, ge=1, le=20)
    # Threads in each match worker taking jobs side by side (a clip's frames verified two at
    # a time); 1: one job at a time.
    match_worker_threads: int = Field(default=2, ge=1, le=8)
    # Tests only (refused in production): each second stage (and clip pass) waits this long
    # before its commit, so that a test can kill a worker in the middle of one.
    test_second_stage_pause: float = Field(default=0.0, ge=0, le=600)
    # Tests only (refused in production): an upload pauses this long after each sealed file is
    # written, before its transaction commits, so that a test can kill the worker there.
    test_write_pause: float = Field(default=0.0, ge=0, le=600)
    # Attempts at a request whose transaction hit a deadlock or serialization failure.
    transaction_attempts: int = Field(default=4, ge=1, le=10)
    # Retention (app/retention.py, run by `cellwatch jobs run`): how long each kind of record
    # is kept once it stops being needed; past it, it is erased. The README lists them.
    # Evidence of an account closed (removed, or no further action) this long ago: its
    # images (key destroyed), evidence links, match candidates and runs.
    retention_closed_account_days: int = Field(default=730, ge=30, le=3650)
    # A reference photo removed from the cell library (replaced, or no longer of use).
    retention_reference_photo_days: int = Field(default=365, ge=1, le=3650)
    # Audit events: at least 13 months (a full year of history to audit, plus a month to
    # notice), at most 24 (the log names who saw what about whom; it must not grow forever).
    retention_audit_months: int = 24
    retention_session_days: int = Field(default=30, ge=1, le=366)  # after it ended
    retention_api_key_days: int = Field(default=90, ge=1, le=3650)  # after revoked or expired
    retention_idempotency_days: int = Field(default=2, ge=1, le=90)  # a client's retry window
    # sign-in failures: at least a day (the longest throttle window), also pruned as new come
    retention_login_failure_hours: int = Field(default=24, ge=24, le=24 * 366)
    retention_enrolment_code_days: int = Field(default=30, ge=1, le=366)  # after used/expired
    # The fictional demo estate (`cellwatch demo`, loaded by `make run` into an empty
    # database, with its banner on every page). Unset: on in development, off in production,
    # which refuses it.
    demo: bool | None = None

    @field_validator("master_key", "audit_key", "backup_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        _key_bytes(value)
        return value

    @field_validator("master_key_id")
    @classmethod
    def _key_id(cls, value: str) -> str:
        if not KEY_ID_RE.match(value):
            raise ValueError("a key id is 1 to 16 letters, digits, - or _")
        return value

    @field_validator("old_master_keys")
    @classmethod
    def _old_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key_id, key in value.items():
            if not KEY_ID_RE.match(key_id):
                raise ValueError(f"old master key id {key_id!r}: 1 to 16 letters, digits, - or _")
            _key_bytes(key)
        return value

    @field_validator("retention_audit_months")
    @classmethod
    def _audit_retention_in_range(cls, value: int) -> int:
        if not AUDIT_MONTHS_MIN <= value <= AUDIT_MONTHS_MAX:
            raise ValueError(
                f"CELLWATCH_RETENTION_AUDIT_MONTHS is {value}: audit events must be kept at "
                f"least {AUDIT_MONTHS_MIN} and at most {AUDIT_MONTHS_MAX} months")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def video_caps(self) -> Caps:
        fps = self.video_max_fps
        return Caps(max_seconds=self.video_max_seconds, max_long_side=self.video_max_long_side,
                    max_short_side=self.video_max_short_side, max_fps=fps,
                    max_streams=self.video_max_streams, max_bytes=self.video_max_bytes,
                    max_animation_frames=self.video_max_animation_frames,
                    max_frames=int(self.video_max_seconds * fps))

    @property
    def video_limits(self) -> Limits:
        # a header may under-declare its frames: decoding stops a little past the cap
        frames = int(self.video_max_seconds * self.video_max_fps * 1.15) + 100
        return Limits(wall_seconds=self.video_decode_seconds,
                      memory_bytes=self.video_memory_bytes, max_decoded_frames=frames,
                      max_samples=self.video_max_samples)

    @property
    def master_key_bytes(self) -> bytes:
        return base64.b64decode(self.master_key)

    @property
    def key_ring(self) -> dict[str, bytes]:
        """Master keys by id, the current one first (readers try it first)."""
        ring = {self.master_key_id: self.master_key_bytes}
        for key_id, key in self.old_master_keys.items():
            ring.setdefault(key_id, base64.b64decode(key))
        return ring

    @property
    def backup_key_bytes(self) -> bytes:
        return base64.b64decode(self.backup_key)

    def backup_key_problem(self) -> str | None:
        """Why backups must not be written with this key (checked by `cellwatch backup`, not
        at start: the server never uses it)."""
        if self.is_production and self.backup_key == DEV_BACKUP_KEY:
            return "CELLWATCH_BACKUP_KEY is missing or the development default"
        if self.backup_key in (self.master_key, self.audit_key, *self.old_master_keys.values()):
            return "CELLWATCH_BACKUP_KEY must differ from the master and audit keys"
        return None

    @property
    def backup_keys_folder(self) -> Path:
        return Path(self.backup_keys_dir) if self.backup_keys_dir else self.data_dir / "backup-keys"

    @property
    def audit_key_bytes(self) -> bytes:
        return base64.b64decode(self.audit_key)

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl")

    @property
    def effective_migrate_url(self) -> str:
        return self.migrate_database_url or self.effective_database_url

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cellwatch.db').resolve()}"

    @property
    def demo_enabled(self) -> bool:
        return (not self.is_production) if self.demo is None else self.demo

    @property
    def factor_required(self) -> bool:
        if self.second_factor_required is None:
            return self.is_production
        return self.second_factor_required

    @property
    def webauthn_expected_origins(self) -> list[str]:
        given = [o.strip().rstrip("/") for o in self.webauthn_origins.split(",") if o.strip()]
        return given or [f"http://localhost:{self.port}"]

    @property
    def secure_cookies(self) -> bool:
        return self.is_production

    def unsafe_reasons(self) -> list[str]:
        """Why these settings must not run in production (empty when they may)."""
        if not self.is_production:
            return []
        reasons = []
        if self.master_key == DEV_MASTER_KEY:
            reasons.append("CELLWATCH_MASTER_KEY is missing or the development default")
        if self.master_key_id in self.old_master_keys:
            reasons.append("CELLWATCH_OLD_MASTER_KEYS lists the current key id")
        if self.audit_key == DEV_AUDIT_KEY:
            reasons.append("CELLWATCH_AUDIT_KEY is missing or the development default")
        elif self.audit_key == self.master_key:
            reasons.append("CELLWATCH_AUDIT_KEY must differ from CELLWATCH_MASTER_KEY")
        if self.debug:
            reasons.append("CELLWATCH_DEBUG is on")
        if self.api_docs:
            reasons.append("CELLWATCH_API_DOCS is on (API docs would be public)")
        if not self.database_url:
            reasons.append("CELLWATCH_DATABASE_URL is not set")
        if self.demo:
            reasons.append("CELLWATCH_DEMO is on (a fictional demo estate)")
        if self.second_factor_required is False:
            reasons.append("CELLWATCH_SECOND_FACTOR_REQUIRED is false")
        if self.test_second_stage_pause:
            reasons.append("CELLWATCH_TEST_SECOND_STAGE_PAUSE is set (a test-only delay)")
        if self.test_write_pause:
            reasons.append("CELLWATCH_TEST_WRITE_PAUSE is set (a test-only delay)")
        return reasons

    def check_safe(self) -> None:
        reasons = self.unsafe_reasons()
        if reasons:
            raise UnsafeSettingsError(
                "refusing to start in production: " + "; ".join(reasons)
            )


def _key_bytes(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the key must be base64") from exc
    if len(raw) != 32:
        raise ValueError("the key must decode to exactly 32 bytes")
    return raw


def explain(exc: ValidationError) -> str:
    """A settings error as a person reads it: which variable, and what is wrong with it."""
    lines = []
    for error in exc.errors():
        name = "CELLWATCH_" + "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(message if message.startswith(name) else f"{name}: {message}")
    return "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
