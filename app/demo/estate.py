"""The demo's fictional estate: establishments, cells, prisoners and two years of occupancy
(moves, releases, shared cells), made from a seed and written as the CSV extract that
`cellwatch import estate` reads, so that it goes in through the real import.

Every name and prison number is made up; the establishments do not exist.
"""

from __future__ import annotations

import csv
import heapq
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ESTABLISHMENTS = [("AVL", "Ashvale (demo)", "B", "North East"),
                  ("BKM", "Brackenmoor (demo)", "C", "Yorkshire"),
                  ("CUF", "Cullinford (demo)", "A", "Midlands")]
FORENAMES = ["Aaron", "Adam", "Ali", "Andre", "Ben", "Callum", "Carl", "Connor", "Craig",
             "Daniel", "Darren", "Dean", "Declan", "Dylan", "Ethan", "Gary", "Harry", "Ibrahim",
             "Jack", "Jamal", "James", "Jason", "Jordan", "Josh", "Kai", "Karl", "Kyle", "Lee",
             "Leon", "Liam", "Luke", "Marcus", "Mark", "Mason", "Michael", "Mohammed", "Nathan",
             "Neil", "Omar", "Owen", "Paul", "Reece", "Ricky", "Ryan", "Sam", "Scott", "Sean",
             "Shane", "Stephen", "Steven", "Thomas", "Tom", "Tyler", "Wayne", "Yusuf", "Zak"]
SURNAMES = ["Abbott", "Ainsworth", "Barker", "Bates", "Bennett", "Birch", "Bowen", "Bradley",
            "Brennan", "Burke", "Carr", "Carter", "Chambers", "Clarke", "Coates", "Cole",
            "Conway", "Cross", "Dale", "Dixon", "Doyle", "Duffy", "Ellis", "Farrell", "Fenton",
            "Fletcher", "Flynn", "Foster", "Gallagher", "Gill", "Hale", "Hardy", "Hart",
            "Haynes", "Hewitt", "Holt", "Hughes", "Hussain", "Jarvis", "Kane", "Kerr", "Khan",
            "Lamb", "Lowe", "Lynch", "Marsh", "Mason", "McBride", "Mellor", "Moss", "Nash",
            "Nolan", "Osei", "Parkes", "Pearce", "Quinn", "Rahman", "Reid", "Riley", "Rowe",
            "Sharp", "Shaw", "Slater", "Stone", "Sutton", "Tate", "Thorne", "Tully", "Vance",
            "Wade", "Walsh", "Ward", "Webb", "Wells", "Whitehead", "Wilde", "Yates", "Young"]
WINGS, LANDINGS = "ABCD", 3
HISTORY_DAYS = 730  # occupancy reaches back two years


@dataclass
class Stay:
    prison_number: str
    cell: tuple[str, str]  # (establishment code, cell label)
    starts_on: date
    ends_on: date | None


@dataclass
class Prisoner:
    prison_number: str
    surname: str
    forenames: str
    date_of_birth: date
    release_date: date | None = None
    flags: tuple[bool, bool, bool] = (False, False, False)  # victim contact, OCG, cat A
    stays: list[Stay] = field(default_factory=list)


@dataclass
class Estate:
    today: date
    cells: list[tuple[str, str, int]]  # (code, label, capacity)
    prisoners: dict[str, Prisoner]
    stays: list[Stay]

    def occupants(self, cell: tuple[str, str], day: date) -> list[str]:
        return [s.prison_number for s in self.stays if s.cell == cell
                and s.starts_on <= day and (s.ends_on is None or s.ends_on >= day)]


def _cells(cells_per_landing: int, rng: np.random.Generator) -> list[tuple[str, str, int]]:
    return [(code, f"{wing}-{landing}-{n:03d}", 2 if rng.random() < 0.3 else 1)
            for code, *_ in ESTABLISHMENTS for wing in WINGS
            for landing in range(1, LANDINGS + 1) for n in range(1, cells_per_landing + 1)]


def _prison_number(rng: np.random.Generator, taken: set[str]) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    while True:
        number = (f"{letters[rng.integers(len(letters))]}{rng.integers(10_000):04d}"
                  f"{letters[rng.integers(len(letters))]}{letters[rng.integers(len(letters))]}")
        if number not in taken:
            taken.add(number)
            return number


def _new_prisoner(rng: np.random.Generator, taken: set[str], today: date) -> Prisoner:
    age_days = int(rng.integers(19 * 365, 60 * 365))
    flags = (bool(rng.random() < 0.05), bool(rng.random() < 0.04), bool(rng.random() < 0.01))
    return Prisoner(_prison_number(rng, taken), str(rng.choice(SURNAMES)),
                    " ".join(str(n) for n in rng.choice(FORENAMES, 1 + (rng.random() < 0.4),
                                                        replace=False)),
                    today - timedelta(days=age_days), flags=flags)


def make_estate(seed: int, today: date, cells_per_landing: int = 17) -> Estate:
    """Every cell place (a double cell has two) holds one stay after another over two years;
    a stay's end frees its prisoner to move to another cell later (or to be released)."""
    rng = np.random.default_rng(seed)
    cells = _cells(cells_per_landing, rng)
    start = today - timedelta(days=HISTORY_DAYS)
    segments: list[tuple[date, date | None, tuple[str, str]]] = []
    for code, label, capacity in cells:
        for _ in range(capacity):
            day = start - timedelta(days=int(rng.integers(0, 200)))
            while True:
                end = day + timedelta(days=int(rng.integers(40, 520)))
                if end >= today:
                    segments.append((day, None, (code, label)))
                    break
                segments.append((day, end, (code, label)))
                day = end + timedelta(days=int(rng.integers(0, 25)))  # 0: moved in that day
    segments.sort(key=lambda s: (s[0], s[2]))
    prisoners: dict[str, Prisoner] = {}
    taken: set[str] = set()
    free: list[tuple[date, str]] = []  # (last day of their stay, prison number): may move
    stays: list[Stay] = []
    for starts_on, ends_on, cell in segments:
        mover = None
        if free and free[0][0] <= starts_on and rng.random() < 0.6:
            mover = heapq.heappop(free)[1]
        prisoner = prisoners[mover] if mover else _new_prisoner(rng, taken, today)
        prisoners[prisoner.prison_number] = prisoner
        stay = Stay(prisoner.prison_number, cell, starts_on, ends_on)
        prisoner.stays.append(stay)
        stays.append(stay)
        if ends_on is not None:
            heapq.heappush(free, (ends_on, prisoner.prison_number))
    for prisoner in prisoners.values():
        last = prisoner.stays[-1]
        if last.ends_on is not None:  # never moved on: released that day
            prisoner.release_date = last.ends_on
        elif rng.random() < 0.5:
            prisoner.release_date = today + timedelta(days=int(rng.integers(30, 2000)))
    return Estate(today, cells, prisoners, stays)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def write_extract(estate: Estate, folder: Path) -> None:
    """The estate as the records-system extract `cellwatch import estate` takes."""
    yes = {True: "Y", False: "N"}
    _write(folder / "establishments.csv", ["code", "name", "category", "region"],
           [list(e) for e in ESTABLISHMENTS])
    _write(folder / "cells.csv", ["establishment_code", "label", "capacity"],
           [[code, label, str(capacity)] for code, label, capacity in estate.cells])
    _write(folder / "prisoners.csv",
           ["prison_number", "surname", "forenames", "date_of_birth", "release_date",
            "victim_contact_restriction", "organised_crime_nominal", "category_a"],
           [[p.prison_number, p.surname, p.forenames, p.date_of_birth.isoformat(),
             p.release_date.isoformat() if p.release_date else "", *(yes[f] for f in p.flags)]
            for p in estate.prisoners.values()])
    _write(folder / "occupancy.csv",
           ["prison_number", "establishment_code", "cell_label", "starts_on", "ends_on"],
           [[s.prison_number, s.cell[0], s.cell[1], s.starts_on.isoformat(),
             s.ends_on.isoformat() if s.ends_on else ""] for s in estate.stays])
