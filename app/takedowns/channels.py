"""How each platform is asked: its channel, address, re-notice cadence, target time and notice
template (the platform vocabulary itself, names and profile links, is accounts.platforms).

Defaults live in code (DEFAULTS). A row is created lazily, the first time a platform's settings
are saved or a notice goes out, so no data migration is needed and reading never writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.platforms import Platform
from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import NotFound, Unprocessable
from app.settings import Settings
from app.takedowns import notice_text, outbound
from app.takedowns.models import PlatformSettings

CHANNELS = {"email": "Email", "portal": "Web portal (.eml download)", "webhook": "Webhook"}
MAX_RENOTICE_HOURS = 24 * 30
MAX_TARGET_HOURS = 24 * 90
_EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class PlatformDefault:
    channel: str
    address: str
    renotice_hours: int = 24
    target_hours: int = 24
    tells_holder: bool = False
    tells_holder_note: str = ""


# Each platform's published law-enforcement / abuse route. Portals need a person to file the
# .eml; an unknown "other" platform must be configured before its takedowns can go out.
DEFAULTS: dict[Platform, PlatformDefault] = {
    Platform.FACEBOOK: PlatformDefault("portal", "https://www.facebook.com/records"),
    Platform.INSTAGRAM: PlatformDefault("portal", "https://www.facebook.com/records"),
    Platform.X: PlatformDefault("portal", "https://legalrequests.x.com"),
    Platform.TIKTOK: PlatformDefault("portal", "https://www.tiktok.com/legal/report/lawenforcement"),
    Platform.SNAPCHAT: PlatformDefault("portal", "https://lawenforcement.snapchat.com"),
    Platform.YOUTUBE: PlatformDefault("portal", "https://lers.google.com"),
    Platform.TELEGRAM: PlatformDefault("email", "abuse@telegram.org"),
    Platform.OTHER: PlatformDefault("portal", "", renotice_hours=48, target_hours=72),
}


def platform_named(name: str) -> Platform:
    try:
        return Platform(name)
    except ValueError:
        raise NotFound(f"There is no platform {name!r}.") from None


def default_row(platform: Platform) -> PlatformSettings:
    d = DEFAULTS[platform]
    return PlatformSettings(platform=platform.value, channel=d.channel, address=d.address,
                            renotice_hours=d.renotice_hours, target_hours=d.target_hours,
                            template=notice_text.DEFAULT_TEMPLATE, tells_holder=d.tells_holder,
                            tells_holder_note=d.tells_holder_note)


def list_platforms(session: Session) -> list[PlatformSettings]:
    """Every platform, saved rows and unsaved defaults alike (nothing is written)."""
    saved = {p.platform: p for p in session.exec(select(PlatformSettings)).all()}
    return [saved.get(p.value) or default_row(p) for p in Platform]


def get_platform(session: Session, name: str) -> PlatformSettings:
    return session.get(PlatformSettings, name) or default_row(platform_named(name))


def ensure_platforms(session: Session) -> None:
    """Insert the default row of every platform that has none; safe against a racing twin."""
    have = set(session.exec(select(PlatformSettings.platform)).all())
    missing = [default_row(p) for p in Platform if p.value not in have]
    if not missing:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [m.model_dump() for m in missing]
    session.execute(insert(PlatformSettings).values(rows)
                    .on_conflict_do_nothing(index_elements=[col(PlatformSettings.platform)]))


def stored_platform(session: Session, name: str) -> PlatformSettings:
    """The platform's row, created from the defaults if it has none yet (write paths only)."""
    platform_named(name)
    row = session.get(PlatformSettings, name)
    if row is None:
        ensure_platforms(session)
        row = session.get(PlatformSettings, name)
    assert row is not None
    return row


def check_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel not in CHANNELS:
        raise Unprocessable(f"Unknown channel {channel!r}: choose email, portal or webhook.")
    if channel == "email":
        if not _EMAIL_RE.match(address) or len(address) > 254:
            raise Unprocessable("The email channel needs one email address, like "
                                "abuse@platform.example.")
        return address
    if not address and channel == "portal":
        return ""  # a portal may be unknown; its notices are still downloadable
    parts = urlsplit(address)
    if (parts.scheme not in ("http", "https") or not parts.hostname or len(address) > 512
            or any(ch.isspace() for ch in address)):
        raise Unprocessable(f"The {channel} channel needs a web address (https://...).")
    return address


def _hours(value: int, what: str, most: int) -> int:
    if not 1 <= value <= most:
        raise Unprocessable(f"The {what} must be between 1 and {most} hours.")
    return value


def update_platform(session: Session, actor: Actor, name: str, *, settings: Settings,
                    channel: str, address: str,
                    renotice_hours: int, target_hours: int, template: str,
                    tells_holder: bool = False, tells_holder_note: str = "") -> PlatformSettings:
    """Save a platform's settings; a template that fails to compile or render is a 422."""
    address = check_address(channel, address)
    outbound.check_destination(settings, channel, address)
    tells_holder_note = " ".join(tells_holder_note.split())
    if len(tells_holder_note) > 500:
        raise Unprocessable("Say what the platform tells the account holder in at most 500 "
                            "characters.")
    _hours(renotice_hours, "re-notice cadence", MAX_RENOTICE_HOURS)
    _hours(target_hours, "target time to removal", MAX_TARGET_HOURS)
    template = template.replace("\r\n", "\n")
    notice_text.validate(template)
    row = stored_platform(session, name)
    before = {"channel": row.channel, "address": row.address,
              "renotice_hours": row.renotice_hours, "target_hours": row.target_hours,
              "tells_holder": row.tells_holder, "tells_holder_note": row.tells_holder_note}
    row.channel, row.address = channel, address
    row.tells_holder, row.tells_holder_note = tells_holder, tells_holder_note
    row.renotice_hours, row.target_hours = renotice_hours, target_hours
    changed_template = row.template != template
    row.template, row.updated_by, row.updated_at = template, actor.user_id, utcnow()
    session.add(row)
    session.flush()
    after = {"channel": channel, "address": address, "renotice_hours": renotice_hours,
             "target_hours": target_hours, "tells_holder": tells_holder,
             "tells_holder_note": tells_holder_note}
    record(session, actor, "platform.update", object_type="platform", object_ids=[name],
           details={"changed": {k: [before[k], after[k]] for k in after if before[k] != after[k]},
                    "template_changed": changed_template})
    return row
