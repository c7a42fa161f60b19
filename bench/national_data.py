"""A synthetic national-size estate for bench/national_scale.py, written with bulk inserts.

Shape (defaults): 125 establishments; 500 cells each (wings A-F, landings 1-4, 40% doubles);
90,000 prisoners, surnames drawn from ~2,000 (300 common British surnames, most frequent first,
then compound names) with a Zipf-like spread so that the commonest names have ~1,000 holders,
10% with an alias; ~4 stays each (1 + Poisson(3)) over their time in custody, contiguous,
moving cells within an establishment or (30%) to another one, 95% still in custody;
120 staff users; 100,000 accounts over 7 platforms (35% open), 10 evidence images each
(1,000,000 `image` + `evidence_image` + `match_run` rows, hashes random, no files), 25,000
reference photos (25,000 more images), matches: a cell match for every attributed account and
10,000 shared-image matches between accounts; attributions for 20% of accounts (skewed: some
prisoners have many accounts), takedowns for every removed or takedown-requested account with
1-3 notices, 5,000 cell searches. Deterministic (fixed seeds): the same rows on every database.

Not generated: takedown events, idempotency keys, account links, old audit events (the audit
table starts empty; appends go to the end of its indexes, so its size barely matters), stays
of prisoners already released from the estate.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import product

import numpy as np

from app.auth.passwords import hash_password
from app.estate.validation import name_key
from bench.scale_support import PASSWORD, Loader, random_hex


def _words(text: str) -> list[str]:
    return text.split()


COMMON_SURNAMES = _words("""
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts
Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel
Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan
Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly
Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall
Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray
Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler
Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh
Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day
Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton ORourke Watts Rose
Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster
Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins
Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane
Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long
Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins
ONeill Kemp Hardy Higgins Wheeler Potter Sharp Holt Moss Kaye Barton Gordon Greenwood Lucas
Black Jordan Pope Tucker Stephens Doyle Hobbs Cartwright Briggs Fuller Sanders Hussey Payton
Iqbal Akhtar Mahmood Rahman Chowdhury Uddin Miah Islam Hassan Mohammed Okafor Mensah Adeyemi
Nowak Kowalski Wisniewski Lewandowski Popescu Ionescu Kelly Byrne Ryan OBrien Walsh McCarthy
Quinn Brennan Maguire Gallagher Doherty Boyle Duffy Lynch Farrell Flynn Kavanagh Connolly
Fraser Duncan Ferguson Hughes Cameron Sinclair Buchanan Crawford Sutherland Jamieson Wallace
Davidson Lindsay Hendry Mackay Mackenzie Macleod Morrison Paterson Ramsay Rennie Watt Young
Mcintosh Mclean Mcguire Mckenzie Bibi Nazir Rashid Aziz Malik Javed Tariq Sharif Anwar
""")

_ROOTS = _words("""Ash Black Brad Brook Cald Chad Clay Crom Dal Dun Eld Fair Far Green Grim Hal Hart
Hay Hol Kings Lang Lock Mar Mid Mor Nor Oak Pen Red Rock Rom Rus Salt Shel South Stan Thorn
Wes Whit Wil Wood""")
_SUFFIXES = _words("""
ford wood ley ton well field worth by ham stead more land ridge wick croft dale
hurst bury cott den combe ward gate mere low shaw thwaite well brook cliffe ington ing ston
sby bourne hall holme lake marsh stock stow wall water well ham shire ney""")

MALE = _words("""James John Robert Michael David William Richard Joseph Thomas Charles Christopher
Daniel Matthew Anthony Mark Paul Steven Andrew Kenneth Joshua Kevin Brian George Timothy Ryan
Jason Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel
Gregory Alexander Patrick Frank Jack Dennis Tyler Aaron Adam Nathan Henry Zachary Peter Kyle
Noah Ethan Jordan Dylan Connor Callum Liam Lewis Harry Jamie Kieran Reece Bradley Shane Darren
Dean Lee Wayne Craig Stuart Gavin Carl Neil Ian Alan Keith Barry Terry Leon Marcus Jermaine
Tyrone Dwayne Mohammed Ahmed Ali Hassan Omar Yusuf Imran Bilal Adil Tariq Kamran Arjun Ravi
Sanjay Piotr Tomasz Marek Andrei Ionut Kofi Kwame Emeka Tunde Chinedu Conor Declan Sean Ciaran
Finn Rhys Owen Dafydd Gareth Euan Fraser Alistair Hamish Rory Elliot Mason Logan Kai
Riley""")
FEMALE = _words("""
Mary Sarah Emma Laura Rebecca Claire Kelly Lisa Michelle Nicola Amy Jade Chloe Megan
Leanne Stacey Gemma Kirsty Danielle Natalie Amina Fatima Aisha Zainab Agnieszka""")

PLATFORMS = [("instagram", 0.30), ("tiktok", 0.25), ("snapchat", 0.20), ("facebook", 0.10),
             ("x", 0.08), ("telegram", 0.04), ("youtube", 0.03)]
STATUSES = [("removed", 0.45), ("no_further_action", 0.20), ("new", 0.10),
            ("under_review", 0.10), ("attributed", 0.08), ("takedown_requested", 0.05),
            ("re_emerged", 0.02)]
OPEN = {"new", "under_review", "attributed", "takedown_requested", "re_emerged"}


def surnames() -> list[str]:
    seen: dict[str, None] = {}
    for name in COMMON_SURNAMES:
        seen.setdefault(name, None)
    for root, suffix in product(_ROOTS, _SUFFIXES):
        seen.setdefault(root + suffix, None)
    return list(seen)[:2000]


def est_codes(n: int, rng: np.random.Generator) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pool = [a + b + c for a in letters for b in letters for c in letters]
    return sorted(rng.choice(pool, size=n, replace=False).tolist())


class Estate:
    """The generated data: small tables held in memory, big ones streamed by generators."""

    def __init__(self, *, establishments: int = 125, cells_per: int = 500,
                 prisoners: int = 90_000, accounts: int = 100_000, images_per: int = 10,
                 references: int = 25_000, seed: int = 2026) -> None:
        self.rng = np.random.default_rng(seed)
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self.today = self.now.date()
        self.n_est, self.cells_per = establishments, cells_per
        self.n_prisoners, self.n_accounts, self.images_per = prisoners, accounts, images_per
        self.n_refs = references
        self._build()

    # --- the estate ---------------------------------------------------------------------
    def _build(self) -> None:
        rng, now = self.rng, self.now
        self.codes = est_codes(self.n_est, rng)
        self.establishments = [(i + 1, code, f"HMP {code.title()}", ["A", "B", "C", "YOI"][i % 4],
                                f"Region {i % 12 + 1}", now) for i, code in enumerate(self.codes)]
        self.cells = []
        for e in range(self.n_est):
            for c in range(self.cells_per):
                wing, landing, num = "ABCDEF"[c // 84 % 6], c % 84 // 21 + 1, c % 21 + 1
                label = f"{wing}-{landing}-{num:03d}" if c < 504 else f"Z-{c}"
                cap = 2 if rng.random() < 0.4 else 1
                self.cells.append((e * self.cells_per + c + 1, e + 1, label, wing, str(landing),
                                   cap, now))
        names = surnames()
        self.surname_list = names
        ranks = np.arange(len(names))
        weights = 1.0 / (ranks + 15.0)  # commonest ~1.3% (Smith in England: 1.26%)
        weights /= weights.sum()
        sur = rng.choice(len(names), size=self.n_prisoners, p=weights)
        numbers: set[str] = set()
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        while len(numbers) < self.n_prisoners:
            numbers.add(f"{letters[rng.integers(26)]}{rng.integers(10000):04d}"
                        f"{letters[rng.integers(26)]}{letters[rng.integers(26)]}")
        pn = sorted(numbers)
        rng.shuffle(pn)
        self.prisoners = []
        for i in range(self.n_prisoners):
            pool = FEMALE if rng.random() < 0.04 else MALE
            fore = pool[rng.integers(len(pool))]
            if rng.random() < 0.5:
                fore += " " + pool[rng.integers(len(pool))]
            surname = names[sur[i]]
            dob = date(1960, 1, 1) + timedelta(days=int(rng.integers(0, 46 * 365)))
            release = (self.today + timedelta(days=int(rng.integers(30, 3000)))
                       if rng.random() < 0.8 else None)
            self.prisoners.append((
                i + 1, pn[i], surname, fore, name_key(surname), name_key(fore), dob, release,
                bool(rng.random() < 0.03), bool(rng.random() < 0.05), bool(rng.random() < 0.01),
                now))
        self.aliases = []
        for pid in rng.choice(self.n_prisoners, size=self.n_prisoners // 10, replace=False):
            s = names[rng.integers(len(names))]
            f = MALE[rng.integers(len(MALE))]
            self.aliases.append((len(self.aliases) + 1, int(pid) + 1, s, f, name_key(s),
                                 name_key(f)))
        self._stays()

    def _stays(self) -> None:
        rng = self.rng
        self.stays = []
        self.current_cell: dict[int, int] = {}
        self.cells_of: dict[int, list[int]] = defaultdict(list)
        horizon = (self.today - date(2019, 1, 1)).days
        for pid in range(1, self.n_prisoners + 1):
            k = 1 + min(int(rng.poisson(3)), 11)
            span = int(horizon * rng.beta(1.2, 3)) + k  # recent arrivals are commoner
            start = self.today - timedelta(days=span)
            released = rng.random() < 0.05
            end = self.today - timedelta(days=int(rng.integers(1, max(2, span // 4)))) \
                if released else None
            last_day = end or self.today
            total = max(k, (last_day - start).days)
            cuts = sorted(set(int(x) for x in rng.choice(np.arange(1, total), size=k - 1,
                                                         replace=False))) if k > 1 else []
            starts = [start] + [start + timedelta(days=c) for c in cuts]
            est = int(rng.integers(self.n_est))
            for j, s in enumerate(starts):
                if j and rng.random() < 0.3:
                    est = int(rng.integers(self.n_est))
                cell = est * self.cells_per + int(rng.integers(self.cells_per)) + 1
                e = starts[j + 1] if j + 1 < len(starts) else end
                self.stays.append((len(self.stays) + 1, pid, cell, s, e, self.now))
                self.cells_of[pid].append(cell)
                if e is None:
                    self.current_cell[pid] = cell

    # --- accounts and images ------------------------------------------------------------
    def accounts_plan(self) -> None:
        rng, now = self.rng, self.now
        n = self.n_accounts
        plat = rng.choice([p for p, _ in PLATFORMS], size=n, p=[w for _, w in PLATFORMS])
        status = rng.choice([s for s, _ in STATUSES], size=n, p=[w for _, w in STATUSES])
        # accounts created over three years, in id order
        age_days = np.sort(rng.uniform(0, 3 * 365, size=n))[::-1]
        self.acc_created = [now - timedelta(days=float(d)) for d in age_days]
        self.acc_status = status.tolist()
        self.acc_platform = plat.tolist()
        # 20% attributed, drawn mostly from the statuses that follow an attribution
        likely = np.isin(status, ["attributed", "takedown_requested", "removed", "re_emerged"])
        prob = np.where(likely, 0.3, 0.03)
        prob *= 0.2 * n / prob.sum()
        attributed = np.flatnonzero(rng.random(n) < prob) + 1
        active = rng.choice(self.n_prisoners, size=min(8000, self.n_prisoners // 11),
                            replace=False) + 1
        w = 1.0 / (np.arange(active.size) + 200.0)  # the busiest prisoner has ~25 accounts
        w /= w.sum()
        picks = active[rng.choice(active.size, size=attributed.size, p=w)]
        self.attributed = {int(a): int(p) for a, p in zip(attributed, picks, strict=True)}
        self.users = list(range(2, 122))  # 1 is the bench analyst; then 100 analysts, 20 sups

    def users_rows(self) -> list[tuple]:
        h = hash_password(PASSWORD)
        rows = [(1, "bench-analyst", "Bench Analyst", "analyst", h, False, True, 0, self.now)]
        for u in self.users:
            role = "analyst" if u < 102 else "supervisor"
            rows.append((u, f"{role}{u:03d}", f"Staff {u}", role, h, False, True, 0, self.now))
        return rows

    def account_rows(self):
        rng = self.rng
        for a in range(1, self.n_accounts + 1):
            st = self.acc_status[a - 1]
            created = self.acc_created[a - 1]
            newest = created + timedelta(hours=float(rng.uniform(0, 72)))
            factors = {"images": 20}
            age = self.now - newest
            if age <= timedelta(days=1):
                factors["recent_post"] = 30
            elif age <= timedelta(days=7):
                factors["recent_post"] = 20
            elif age <= timedelta(days=30):
                factors["recent_post"] = 10
            if st in ("new", "under_review", "attributed"):
                factors["no_action_yet"] = 15
            if st == "re_emerged":
                factors["re_emerged"] = 50
            pid = self.attributed.get(a)
            est = None
            if pid is not None:
                p = self.prisoners[pid - 1]
                if p[8]:
                    factors["victim_contact"] = 40
                if p[9]:
                    factors["organised_crime"] = 30
                if p[10]:
                    factors["category_a"] = 30
                cell = self.current_cell.get(pid) or self.cells_of[pid][-1]
                est = self.cells[cell - 1][1]
            assignee = self.users[rng.integers(100)] if rng.random() < 0.6 else None
            re_from = int(rng.integers(1, a)) if st == "re_emerged" and a > 1 else None
            yield (a, self.acc_platform[a - 1], f"bench.user{a:06d}", False, st,
                   sum(factors.values()), json.dumps(factors), assignee, est, newest,
                   self.images_per, re_from, "", "", 1, self.users[a % 120], created, newest)

    def image_rows(self):
        """Evidence images (ids 1..accounts*images_per), then reference photos' images."""
        rng = np.random.default_rng(7)
        total = self.n_accounts * self.images_per + self.n_refs
        for start in range(0, total, 50_000):
            n = min(50_000, total - start)
            hashes = rng.integers(-(2**63), 2**63 - 1, size=(n, 4), dtype=np.int64,
                                  endpoint=True).tolist()
            keys = rng.bytes(60 * n)
            for j in range(n):
                i = start + j + 1
                acc = (i - 1) // self.images_per + 1
                when = (self.acc_created[acc - 1] if acc <= self.n_accounts
                        else self.now - timedelta(days=400)) + timedelta(minutes=j % 600)
                h = hashes[j]
                yield (i, random_hex(32), "jpeg", 180_000 + j, 1080, 1350, random_hex(16),
                       keys[60 * j:60 * j + 60], h[0], h[1], h[2], h[3], "", when,
                       self.users[i % 120])

    def evidence_rows(self):
        rng = np.random.default_rng(8)
        for i in range(1, self.n_accounts * self.images_per + 1):
            acc = (i - 1) // self.images_per + 1
            created = self.acc_created[acc - 1]
            posted = created - timedelta(hours=float(rng.uniform(0, 2000)))
            yield (i, i, acc, f"https://www.{self.acc_platform[acc - 1]}.com/p/{i:08x}/", posted,
                   f"IMG_{i % 10000:04d}.jpg", self.users[i % 120],
                   created + timedelta(minutes=i % self.images_per))

    def match_run_rows(self):
        for i in range(1, self.n_accounts * self.images_per + 1):
            when = self.acc_created[(i - 1) // self.images_per]
            yield (i, when, when + timedelta(seconds=2), 0, "")

    def references_and_matches(self) -> tuple[list, list, list]:
        """Reference photos (one per cell used by an attribution, then random cells), the
        matches (a cell match per attributed account; shared images between accounts) and
        attributions."""
        rng = np.random.default_rng(9)
        first_ref_image = self.n_accounts * self.images_per + 1
        ref_of_cell: dict[int, int] = {}
        refs, matches, attributions = [], [], []

        def ref_image(cell: int) -> int | None:
            if cell not in ref_of_cell:
                if len(refs) >= self.n_refs:
                    return None
                image_id = first_ref_image + len(refs)
                refs.append((len(refs) + 1, image_id, cell, "staff", self.now - timedelta(
                    days=400), self.users[len(refs) % 120]))
                ref_of_cell[cell] = image_id
            return ref_of_cell[cell]

        for acc, pid in sorted(self.attributed.items()):
            cells = self.cells_of[pid]
            cell = cells[int(rng.integers(len(cells)))]
            ref = ref_image(cell)
            query = (acc - 1) * self.images_per + 1 + int(rng.integers(self.images_per))
            roll = rng.random()
            status = "confirmed" if roll < 0.6 else ("pending" if roll < 0.9 else "rejected")
            if ref is not None:
                matches.append((len(matches) + 1, query, ref, "phash", int(rng.integers(0, 4)),
                                None, status, self.acc_created[acc - 1]))
            a_status = {"confirmed": "confirmed", "pending": "suggested",
                        "rejected": "rejected"}[status]
            attributions.append((len(attributions) + 1, acc, pid, a_status, "cell_match",
                                 f"cell {cell} matched; stay covers the post time",
                                 len(matches) if ref is not None else None, cell,
                                 self.acc_created[acc - 1], "post", "", self.users[acc % 120],
                                 self.acc_created[acc - 1]))
        while len(refs) < self.n_refs:
            ref_image(int(rng.integers(1, len(self.cells) + 1)))
        for _ in range(self.n_accounts // 10):  # the same photo posted by two accounts
            a, b = sorted(int(x) for x in rng.choice(self.n_accounts, size=2, replace=False) + 1)
            qa = (b - 1) * self.images_per + 1 + int(rng.integers(self.images_per))
            qb = (a - 1) * self.images_per + 1 + int(rng.integers(self.images_per))
            matches.append((len(matches) + 1, qa, qb, "phash", int(rng.integers(0, 4)), None,
                            "pending", self.acc_created[b - 1]))
        return refs, matches, attributions

    def takedown_rows(self) -> tuple[list, list]:
        rng = np.random.default_rng(10)
        takedowns, notices = [], []
        for a in range(1, self.n_accounts + 1):
            st = self.acc_status[a - 1]
            if st not in ("removed", "takedown_requested", "re_emerged"):
                continue
            created = self.acc_created[a - 1] + timedelta(hours=2)
            if st == "takedown_requested":
                state = ["draft", "awaiting_approval", "approved", "sent", "acknowledged"][
                    int(rng.integers(5))]
            else:
                state = "removed"
            sent = state in ("sent", "acknowledged", "removed")
            n = int(rng.integers(1, 4)) if sent else 0
            tid = len(takedowns) + 1
            first = created + timedelta(hours=1) if sent else None
            takedowns.append((tid, a, self.acc_platform[a - 1], state,
                              "Account run from a prison cell on an illicit phone.", 1,
                              self.users[a % 100], self.users[100 + a % 20] if sent else None,
                              n, False, False, "", "", created, first,
                              first + timedelta(hours=3) if state == "removed" else None))
            for k in range(n):
                notices.append((len(notices) + 1, tid, k + 1, "portal",
                                f"https://{self.acc_platform[a - 1]}.example/report",
                                f"Takedown request {tid}/{k + 1}", "Dear platform, " * 40,
                                random_hex(32), random_hex(16), "delivered", "",
                                self.users[a % 100],
                                (first or created) + timedelta(hours=24 * k)))
        return takedowns, notices

    def cell_search_rows(self) -> tuple[list, list]:
        rng = np.random.default_rng(11)
        searches, people = [], []
        pids = rng.choice(self.n_prisoners, size=self.n_prisoners // 18, replace=False) + 1
        for i, pid in enumerate(pids.tolist()):
            cell = self.current_cell.get(pid) or self.cells_of[pid][-1]
            est = self.cells[cell - 1][1]
            when = self.now - timedelta(days=float(rng.uniform(0, 700)))
            done = rng.random() < 0.8
            searches.append((i + 1, est, cell, None, None, "Phone suspected in cell.",
                             "urgent", "completed" if done else "requested", 1,
                             self.users[i % 100], when,
                             when + timedelta(hours=30) if done else None,
                             when + timedelta(hours=20) if done else None,
                             int(rng.integers(0, 3)) if done else 0, 0, 0, 0, "", ""))
            people.append((i + 1, pid))
        return searches, people


def load(url: str, estate: Estate, log=print) -> dict:
    """Write the estate into a migrated database; returns row counts and seconds per table."""
    db = Loader(url)
    timings: dict[str, float] = {}

    def put(table: str, cols: list[str], rows, chunk: int = 20_000) -> None:
        t = time.perf_counter()
        n = db.insert(table, cols, rows, chunk)
        timings[table] = round(time.perf_counter() - t, 1)
        log(f"    {table}: {n:,} rows in {timings[table]} s")

    e = estate
    t0 = time.perf_counter()
    put("app_user", ["id", "username", "display_name", "role", "password_hash",
                     "must_change_password", "is_active", "failed_logins", "created_at"],
        e.users_rows())
    put("establishment", ["id", "code", "name", "category", "region", "updated_at"],
        e.establishments)
    put("cell", ["id", "establishment_id", "label", "wing", "landing", "capacity",
                 "updated_at"], e.cells)
    put("prisoner", ["id", "prison_number", "surname", "forenames", "surname_key",
                     "forenames_key", "date_of_birth", "release_date",
                     "victim_contact_restriction", "organised_crime_nominal", "category_a",
                     "updated_at"], e.prisoners)
    put("prisoner_alias", ["id", "prisoner_id", "surname", "forenames", "surname_key",
                           "forenames_key"], e.aliases)
    put("occupancy", ["id", "prisoner_id", "cell_id", "starts_on", "ends_on", "updated_at"],
        e.stays)
    put("account", ["id", "platform", "handle", "numeric_id", "status", "priority",
                    "priority_factors", "assignee_id", "establishment_id", "newest_post_at",
                    "image_count", "re_emerged_from_id", "closed_reason", "notes", "version",
                    "created_by", "created_at", "updated_at"], e.account_rows())
    put("image", ["id", "sha256", "format", "byte_size", "width", "height", "storage_key",
                  "wrapped_key", "phash", "phash_mirror", "phash_trim", "dhash", "exif_device",
                  "created_at", "created_by"], e.image_rows())
    put("evidence_image", ["id", "image_id", "account_id", "post_url", "posted_at",
                           "original_filename", "submitted_by", "submitted_at"],
        e.evidence_rows())
    put("match_run", ["image_id", "first_stage_at", "second_stage_at", "candidates", "error"],
        e.match_run_rows())
    refs, matches, attributions = e.references_and_matches()
    put("reference_photo", ["id", "image_id", "cell_id", "source", "added_at", "added_by"],
        refs)
    put("match", ["id", "query_image_id", "candidate_image_id", "method", "distance",
                  "inliers", "status", "created_at", "review_note"],
        [(*m, "") for m in matches])
    put("attribution", ["id", "account_id", "prisoner_id", "status", "basis_kind", "basis",
                        "match_id", "cell_id", "photo_time", "time_source", "reason",
                        "created_by", "created_at"], attributions)
    takedowns, notices = e.takedown_rows()
    put("takedown", ["id", "account_id", "platform", "state", "reason", "version", "author_id",
                     "approver_id", "notices_sent", "escalated", "overdue",
                     "platform_reference", "refusal_reason", "created_at", "first_sent_at",
                     "resolved_at"], takedowns)
    put("notice", ["id", "takedown_id", "number", "channel", "recipient", "subject", "body",
                   "pack_sha256", "pack_key", "delivery", "error", "sent_by", "sent_at"],
        notices)
    searches, people = e.cell_search_rows()
    put("cell_search", ["id", "establishment_id", "cell_id", "attribution_id", "account_id",
                        "reason", "urgency", "state", "version", "requested_by", "requested_at",
                        "completed_at", "searched_at", "phones", "sim_cards", "chargers",
                        "other_items", "other_description", "outcome_note"], searches)
    put("cell_search_prisoner", ["cell_search_id", "prisoner_id"], people)
    counts = dict(db.counts)
    t = time.perf_counter()
    db.finish()
    timings["finish (sequences, VACUUM ANALYZE on PostgreSQL)"] = round(
        time.perf_counter() - t, 1)
    return {"rows": counts, "seconds": timings, "total_s": round(time.perf_counter() - t0, 1)}
