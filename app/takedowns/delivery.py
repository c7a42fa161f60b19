"""Getting a notice to a platform: email (SMTP), webhook (HTTP POST) or a portal (.eml).

No I/O happens anywhere else in the domain; failures come back as an Outcome with a readable
error, never as an exception, so the caller can record them next to the notice.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from app.settings import Settings
from app.takedowns import outbound

log = logging.getLogger("cellwatch")

DELIVERED, FAILED, MANUAL = "delivered", "failed", "manual"  # outcomes
PENDING, SENDING = "pending", "sending"  # a notice before its outcome (outbox.py)
IN_FLIGHT = (PENDING, SENDING)


@dataclass(frozen=True)
class Outgoing:
    takedown_id: int
    reference: str
    number: int
    channel: str
    recipient: str
    subject: str
    body: str
    pack_filename: str
    pack: bytes
    pack_sha256: str
    platform: str
    handle: str
    sent_at: datetime


@dataclass(frozen=True)
class Outcome:
    delivery: str  # delivered | failed | manual (portal: a person files the .eml)
    error: str = ""


def message_id(takedown_id: int, number: int) -> str:
    """The same for every attempt of a notice, so that a platform can tell a repeat."""
    return f"<takedown-{takedown_id}-notice-{number}@cellwatch>"


def email_message(settings: Settings, out: Outgoing) -> EmailMessage:
    """The notice as an email; also what the .eml download serves."""
    msg = EmailMessage()
    msg["Subject"] = out.subject
    msg["From"] = settings.smtp_from
    if out.channel == "email":
        msg["To"] = out.recipient
    elif out.recipient:
        msg["X-Cellwatch-Recipient"] = out.recipient  # the portal or webhook it was meant for
    msg["Date"] = format_datetime(out.sent_at)
    msg["Message-ID"] = message_id(out.takedown_id, out.number)
    msg["X-Cellwatch-Reference"] = out.reference
    msg.set_content(out.body)
    msg.add_attachment(out.pack, maintype="application", subtype="zip",
                       filename=out.pack_filename)
    return msg


def _email(settings: Settings, out: Outgoing) -> Outcome:
    if not settings.smtp_host:
        return Outcome(FAILED, "No SMTP server is configured (CELLWATCH_SMTP_HOST).")
    if not outbound.Allowed.of(settings).host(out.recipient.rpartition("@")[2]):
        return Outcome(FAILED, "The recipient's domain is not an allowed destination "
                               "(CELLWATCH_OUTBOUND_DESTINATIONS).")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.delivery_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            refused = smtp.send_message(email_message(settings, out))
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(FAILED, f"The mail server did not accept the notice: {exc}"[:1000])
    if refused:
        return Outcome(FAILED, f"The mail server refused the recipient: {refused}"[:1000])
    return Outcome(DELIVERED)


def webhook_payload(out: Outgoing) -> bytes:
    return json.dumps({
        "reference": out.reference, "takedown_id": out.takedown_id,
        "notice_number": out.number, "platform": out.platform, "handle": out.handle,
        "sent_at": out.sent_at.isoformat(), "subject": out.subject, "body": out.body,
        "pack": {"filename": out.pack_filename, "sha256": out.pack_sha256,
                 "content_base64": base64.b64encode(out.pack).decode()},
    }).encode()


def idempotency_key(out: Outgoing) -> str:
    """The same for every attempt of a notice, like the email's Message-ID."""
    return f"{out.reference}-{out.number}"


def _webhook(settings: Settings, out: Outgoing) -> Outcome:
    try:
        status = outbound.post(settings, out.recipient, webhook_payload(out), {
            "Content-Type": "application/json", "User-Agent": "Cellwatch",
            "Idempotency-Key": idempotency_key(out)})
    except outbound.Refused as exc:
        log.warning("notice %s: webhook refused: %s", out.reference, exc)
        return Outcome(FAILED, "The webhook address is not an allowed destination "
                               "(CELLWATCH_OUTBOUND_DESTINATIONS).")
    except (OSError, http.client.HTTPException) as exc:  # why stays in the log (see outbound)
        log.warning("notice %s: webhook not reached: %s", out.reference, exc)
        return Outcome(FAILED, "The platform's webhook gave no answer.")
    if not 200 <= status < 300:
        return Outcome(FAILED, f"The platform's webhook answered HTTP {status}.")
    return Outcome(DELIVERED)


def deliver(settings: Settings, out: Outgoing) -> Outcome:
    if out.channel == "email":
        return _email(settings, out)
    if out.channel == "webhook":
        return _webhook(settings, out)
    return Outcome(MANUAL)  # portal: ready to download as .eml and file by hand
