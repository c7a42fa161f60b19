"""A takedown's draft: what the drafter gives, checked field by field, and notice #1 previewed.

The drafter chooses which of the account's evidence images and videos go in (at least one; an
image or video of another account, or one withdrawn, is refused; a video brings its matched
frames in as images: cited_videos.py), and gives what a platform needs to act: the
legal basis, a substantiated reason, the platform's numeric account id where known, a contact
and the good-faith statement. Each save makes the preview: notice #1's exact text and its
sealed evidence pack, which the approver sees and which is what goes (notices.first_notice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import display_name_of
from app.audit.service import Actor
from app.errors import Unprocessable
from app.evidence import packkeys
from app.evidence.models import EvidenceImage, Image
from app.settings import Settings
from app.takedowns import channels, cited_videos, notice_text, notices, packfiles, packs
from app.takedowns.models import Notice, NoticePreview, Takedown, TakedownImage
from app.txfiles import delete_when_committed

REASON_MIN, REASON_MAX = 20, 2000
BASIS_MIN, BASIS_MAX = 10, 1000
CONTACT_MIN, CONTACT_MAX = 10, 500
_EMAIL_IN = re.compile(r"[^@\s<>,;\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_DIGITS = re.compile(r"^[0-9]{1,32}$")
FIELDS = ("evidence_ids", "video_ids", "legal_basis", "reason", "platform_account_id", "contact",
          "good_faith")


@dataclass(frozen=True)
class Draft:
    reason: str
    evidence_ids: tuple[int, ...]
    legal_basis: str
    contact: str
    good_faith: bool
    platform_account_id: str = ""
    video_ids: tuple[int, ...] = ()


class DraftRefused(Unprocessable):
    """Some fields are missing or wrong: each message belongs beside its field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(" ".join(fields.values()), detail={"fields": fields})
        self.fields = fields


def numeric_id_of(account: Account) -> str:
    """The platform's numeric account id when the handle itself is one (else unknown)."""
    return account.handle if account.numeric_id and account.handle.isdigit() else ""


def _length(value: str, low: int, high: int, what: str) -> str:
    if not low <= len(value) <= high:
        return f"Give {what} ({low}-{high} characters)."
    return ""


def _images(session: Session, account: Account, ids: tuple[int, ...],
            video_ids: tuple[int, ...] = ()) -> str:
    if not ids and not video_ids:
        return "Choose at least one image or video to go in the notice."
    if not ids:
        return ""
    if len(ids) > packs.MAX_IMAGES:
        return f"Choose at most {packs.MAX_IMAGES} images."
    found = {e.id: i for e, i in session.exec(
        select(EvidenceImage, Image).join(Image, col(Image.id) == col(EvidenceImage.image_id))
        .where(col(EvidenceImage.id).in_(ids))).all()}
    mine = {e for e in session.exec(select(EvidenceImage.id).where(
        col(EvidenceImage.id).in_(ids), EvidenceImage.account_id == account.id)).all()}
    foreign = sorted(i for i in ids if i not in mine)
    if foreign:
        return ("Only this account's own images can go in; these are not: "
                + ", ".join(f"#{i}" for i in foreign) + ".")
    gone = sorted(i for i in ids if found[i].erased_at is not None)
    if gone:
        return ("Withdrawn images cannot go out: " + ", ".join(f"#{i}" for i in gone) + ".")
    return ""


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").strip()  # a textarea posts CRLF


def check(session: Session, account: Account, draft: Draft) -> Draft:
    """The draft tidied, or DraftRefused naming every field that is missing or wrong."""
    draft = replace(draft, reason=_text(draft.reason), legal_basis=_text(draft.legal_basis),
                    contact=draft.contact.strip(),
                    platform_account_id=draft.platform_account_id.strip(),
                    evidence_ids=tuple(dict.fromkeys(draft.evidence_ids)),
                    video_ids=tuple(dict.fromkeys(draft.video_ids)))
    errors = {
        "evidence_ids": _images(session, account, draft.evidence_ids, draft.video_ids),
        "video_ids": cited_videos.problems(session, account.id or 0, draft.video_ids)
        if draft.video_ids else "",
        "legal_basis": _length(draft.legal_basis, BASIS_MIN, BASIS_MAX,
                               "the legal basis the platform can act on"),
        "reason": _length(draft.reason, REASON_MIN, REASON_MAX,
                          "the reason: what the account posts and why it must go"),
        "platform_account_id": "" if not draft.platform_account_id or _DIGITS.match(
            draft.platform_account_id) else "The platform's account id is digits only; "
                                            "leave it empty if it is not known.",
        "contact": "" if CONTACT_MIN <= len(draft.contact) <= CONTACT_MAX
        and _EMAIL_IN.search(draft.contact) else
        f"Give a contact the platform can answer: a name and an email address (at most "
        f"{CONTACT_MAX} characters).",
        "good_faith": "" if draft.good_faith else
        "Make the good-faith statement: platforms act only on a notice that carries it.",
    }
    errors = {k: v for k, v in errors.items() if v}
    if not errors and draft.video_ids:  # each cited video brings its matched frames
        frames = cited_videos.frames_of(session, account.id or 0, draft.video_ids)
        draft = replace(draft, evidence_ids=tuple(dict.fromkeys(draft.evidence_ids + tuple(
            frames))))
        if len(draft.evidence_ids) > packs.MAX_IMAGES:
            errors["video_ids"] = (f"With their matched frames these make "
                                   f"{len(draft.evidence_ids)} images; at most "
                                   f"{packs.MAX_IMAGES} go in a notice.")
    if errors:
        raise DraftRefused(errors)
    return draft


def store(session: Session, takedown: Takedown, draft: Draft) -> None:
    """The chosen images (with the cited videos' frames) in the order of the account's own
    list (oldest first), and the cited videos."""
    order = {e.id: n for n, (e, _) in enumerate(
        packs.evidence_of(session, takedown.account_id))}
    session.execute(delete(TakedownImage).where(col(TakedownImage.takedown_id) == takedown.id))
    for evidence_id in sorted(draft.evidence_ids, key=lambda i: (order.get(i, 10**6), i)):
        session.add(TakedownImage(takedown_id=takedown.id or 0, evidence_id=evidence_id,
                                  position=order.get(evidence_id, 10**6)))
    session.flush()
    cited_videos.store(session, takedown.id or 0, takedown.account_id, draft.video_ids)


def chosen_ids(session: Session, takedown_id: int) -> list[int]:
    return list(session.exec(select(TakedownImage.evidence_id).where(
        TakedownImage.takedown_id == takedown_id).order_by(col(TakedownImage.position),
                                                            col(TakedownImage.evidence_id))))


def withdrawn_chosen(session: Session, takedown_id: int) -> list[int]:
    """Chosen images withdrawn since the preview: what was previewed can no longer go."""
    return [e.id or 0 for e, i in packs.chosen_of(session, takedown_id)
            if i.erased_at is not None]


def preview_of(session: Session, takedown_id: int) -> NoticePreview | None:
    return session.get(NoticePreview, takedown_id)


def make_preview(session: Session, settings: Settings, actor: Actor, takedown: Takedown,
                 account: Account, now: datetime) -> NoticePreview:
    """Notice #1 as it will go: rendered, checked complete, its pack sealed and kept."""
    platform = channels.get_platform(session, takedown.platform)
    pack = packs.build_pack(session, settings, takedown, account, now)
    stored = notices.StoredPack("", pack.sha256, pack.data, pack.manifest)
    context = notices.context(takedown, account, stored, 1)
    body = notice_text.render(platform.template, context)
    notice_text.check_complete(body, context)
    key = packfiles.store(session, settings, pack.data, packs.held_in(pack.manifest))
    ref = packs.reference(takedown)
    subject = notice_text.subject(ref, display_name_of(account.platform), account.handle, 1)
    preview = preview_of(session, takedown.id or 0)
    if preview is None:
        preview = NoticePreview(takedown_id=takedown.id or 0, pack_key=key,
                                pack_sha256=pack.sha256)
    elif not session.exec(select(Notice.id).where(Notice.pack_key == preview.pack_key)).first():
        delete_when_committed(session, packfiles.path_for(settings, preview.pack_key))
        packkeys.forget(session, preview.pack_key)  # never sent: its key goes with it
    preview.subject, preview.body = subject, body
    preview.pack_key, preview.pack_sha256 = key, pack.sha256
    preview.made_by, preview.made_at = actor.user_id, now
    session.add(preview)
    session.flush()
    return preview
