"""The demo's ~40 suspect accounts and what the unit has done about each: which cell photo each
image came from and how it was changed on the way, and how far the analysts got (review,
attribution, takedown, cell search). Chosen so that every page has something true to show:
every kind of edit the matching handles, a linked pair, a re-emerged account, takedowns and
cell searches in every state, work still waiting for review.
"""

from __future__ import annotations

from dataclasses import dataclass

# How an image came to the account (app/demo/edits.py; "viewpoint": the same room rendered
# from a moved camera; "copy": the very file another account posted; "unrelated": nothing held)
EDITS = ("repost", "crop", "screenshot", "selfie", "overlay", "viewpoint", "copy", "unrelated")


@dataclass(frozen=True)
class Story:
    handle: str  # as an analyst would paste it
    platform: str
    shots: tuple[tuple[int, str], ...]  # (story cell, edit) per image; -1: no cell
    days_ago: int  # when the images were posted
    cell: str = ""  # the analyst's decision on the cell match: confirm | reject | "" (waits)
    attribution: str = ""  # confirm | confirm_first (and reject the rest) | "" (suggested)
    takedown: str = ""  # the state it reached (app/takedowns/machine.py), "" none
    search: str = ""  # requested | acknowledged | completed, "" none
    after: str = ""  # taken in only once this handle's account was removed (re-emergence)
    copy_of: str = ""  # for "copy": whose first image
    shared: bool = False  # its cell is a double cell with two occupants that day
    close: str = ""  # closed with no further action, for this reason
    assigned: bool = False  # assigned to the demo analyst


S = Story
STORIES: tuple[Story, ...] = (
    # the whole loop, ending with the account removed, the cell searched and phones found
    S("@ashvale.a.wing", "instagram", ((0, "repost"),), 9, "confirm", "confirm", "removed",
      "completed"),
    S("@ashvale.a.wing.back", "instagram", ((-1, "copy"),), 2, after="@ashvale.a.wing",
      copy_of="@ashvale.a.wing"),
    S("@bkm_landing2", "tiktok", ((1, "crop"),), 12, "confirm", "confirm", "acknowledged",
      "acknowledged"),
    S("@cuf_views", "x", ((2, "screenshot"),), 6, "confirm", "", "awaiting_approval"),
    S("wingselfies", "snapchat", ((3, "selfie"),), 4, "confirm", "confirm", "sent",
      "requested"),
    S("@free.the.lads.2", "instagram", ((4, "overlay"),), 3, assigned=True),
    S("@b_wing_views", "tiktok", ((5, "viewpoint"),), 5, assigned=True),
    S("@cell_life_hmp", "tiktok", ((6, "repost"), (6, "crop")), 20, "confirm", "confirm",
      "refused"),
    S("@cell_life_backup", "tiktok", ((-1, "copy"),), 15, copy_of="@cell_life_hmp"),
    S("@jail.kitchen", "instagram", ((7, "repost"),), 8, "confirm", "confirm_first",
      "approved", shared=True),
    S("@bars_and_bunks", "x", ((8, "repost"),), 30, "confirm", "confirm", "withdrawn"),
    S("@on_the_out_soon", "telegram", ((9, "repost"),), 2, "confirm", "confirm", "draft"),
    S("@landing3.life", "instagram", ((10, "screenshot"),), 1, "confirm", "", "", "",
      shared=True),
    S("@dwing.diaries", "facebook", ((11, "overlay"),), 7, "confirm", "confirm", "removed",
      "completed"),
    S("@brackenmoor.nights", "instagram", ((12, "selfie"), (-1, "unrelated")), 10, "confirm",
      "confirm", "", "completed"),
    S("@cullinford_crew", "tiktok", ((13, "repost"),), 14, "reject"),
    S("@servingtime_uk", "x", ((14, "crop"),), 3, assigned=True),
    S("@doing.bird.22", "instagram", ((15, "viewpoint"),), 2),
    S("@lockdown_lads", "tiktok", ((16, "overlay"),), 1, assigned=True),
    S("@sentence_diary", "youtube", ((17, "screenshot"),), 6),
    S("@pad_tour", "instagram", ((18, "repost"),), 16, "confirm", "confirm", "ready_to_submit"),
    S("@a1_landing", "snapchat", ((19, "selfie"),), 11, "confirm", "confirm", "awaiting_approval"),
    S("@bang_up_vlog", "tiktok", ((20, "crop"), (20, "overlay")), 4, "confirm"),
    S("@hmp.meals", "instagram", ((-1, "unrelated"),), 5),
    S("@gym_inside", "instagram", ((-1, "unrelated"), (-1, "unrelated")), 9,
      close="Photos show a public gym; no link to an establishment."),
    S("@outside_soon", "x", ((-1, "unrelated"),), 13),
    S("@canteen_deals", "telegram", ((21, "repost"),), 2, "confirm", "confirm", "draft"),
    S("@visits.hall", "facebook", ((-1, "unrelated"),), 22,
      close="Family member's account; photos taken outside, nothing held matches."),
    S("@cell.art", "instagram", ((22, "repost"),), 3),
    S("@wing_rep", "tiktok", ((23, "selfie"),), 2),
    S("@yard.time", "instagram", ((24, "screenshot"),), 19, "confirm", "confirm", "removed"),
    S("@bunk_life", "snapchat", ((25, "overlay"),), 1),
    S("@ashvale_c_wing", "x", ((26, "repost"),), 17, "confirm", "confirm", "refused",
      "requested"),
    S("@bkm_gym_lads", "tiktok", ((27, "crop"),), 8, "confirm", "confirm", "withdrawn"),
    S("@cuf.days", "instagram", ((28, "viewpoint"),), 6),
    S("@inside_mind", "youtube", ((29, "repost"),), 25, "confirm", "confirm", "acknowledged"),
    S("@pad_mate", "tiktok", ((-1, "copy"),), 4, copy_of="@cuf_views"),
    S("@doing_time_22", "x", ((30, "selfie"),), 12, "confirm", "confirm", "approved"),
    S("@screws_watch", "instagram", ((31, "repost"),), 2, "reject"),
    S("@b.wing.tv", "facebook", ((32, "crop"),), 9, "confirm", "confirm", "", "acknowledged"),
)
CELL_STORIES = 1 + max(cell for s in STORIES for cell, _ in s.shots)
