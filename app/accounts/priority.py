"""The triage priority of an account: a sum of named factors, each shown to the analyst. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Points per factor. Re-emergence and victim contact come first: they are the cases where a
# delay does the most harm.
RE_EMERGED = 50
VICTIM_CONTACT = 40
ORGANISED_CRIME = 30
CATEGORY_A = 30
POSTED_TODAY = 30
POSTED_THIS_WEEK = 20
POSTED_THIS_MONTH = 10
PER_IMAGE = 2
IMAGES_CAP = 20
NO_ACTION_YET = 15

LABELS = {
    "re_emerged": "re-emerged after removal",
    "victim_contact": "attributed prisoner has a victim-contact restriction",
    "organised_crime": "attributed prisoner is an organised-crime nominal",
    "category_a": "attributed prisoner is category A",
    "recent_post": "newest post is recent",
    "images": "images and videos held (a video counts once)",
    "no_action_yet": "no action taken yet",
}


@dataclass(frozen=True)
class PriorityInput:
    re_emerged: bool
    victim_contact: bool
    organised_crime: bool
    category_a: bool
    newest_post_at: datetime | None
    image_count: int
    action_taken: bool  # a takedown exists or the account is closed


def factors(data: PriorityInput, now: datetime) -> dict[str, int]:
    """Each factor that applies, with its points; the priority is their sum."""
    out: dict[str, int] = {}
    if data.re_emerged:
        out["re_emerged"] = RE_EMERGED
    if data.victim_contact:
        out["victim_contact"] = VICTIM_CONTACT
    if data.organised_crime:
        out["organised_crime"] = ORGANISED_CRIME
    if data.category_a:
        out["category_a"] = CATEGORY_A
    if data.newest_post_at is not None:
        age = now - data.newest_post_at
        if age <= timedelta(days=1):
            out["recent_post"] = POSTED_TODAY
        elif age <= timedelta(days=7):
            out["recent_post"] = POSTED_THIS_WEEK
        elif age <= timedelta(days=30):
            out["recent_post"] = POSTED_THIS_MONTH
    if data.image_count > 0:
        out["images"] = min(IMAGES_CAP, PER_IMAGE * data.image_count)
    if not data.action_taken:
        out["no_action_yet"] = NO_ACTION_YET
    return out


def explain(points: dict[str, int]) -> list[tuple[str, int]]:
    """Factors as (label, points), largest first, for the page."""
    return sorted(((LABELS.get(k, k), v) for k, v in points.items()), key=lambda kv: -kv[1])
