"""One place commits: the unit of work (app/db.py) that a request, a CLI command, a job step or
a background task runs in. Anything else that commits is named here with its reason."""

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
COMMIT = re.compile(r"\.commit\(")

# file -> why it commits outside a unit of work
EXCEPTIONS: dict[str, str] = {
    "db.py": "the unit of work itself",
    "locks.py": "the job lock lives on its own connection, outside any unit of work, "
                          "so that it is held (or its lease renewed) across many of them",
    "demo/build.py": "the demo build is one outer transaction around its units of work (each a "
                     "savepoint): the match index reads through the same connection and sees "
                     "the photos just added, and a failed build leaves nothing",
    "backup/snapshot.py": "the backup's own copy of a SQLite database (a file of its own, never "
                          "the service's): its image keys are cleared and committed before "
                          "VACUUM, which cannot run inside a transaction",
}


def test_nothing_commits_outside_the_unit_of_work():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP).as_posix()
        if rel in EXCEPTIONS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if COMMIT.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def test_every_exception_still_commits():
    """An exception whose file no longer commits is removed from the list, not left to rot."""
    for rel in EXCEPTIONS:
        assert COMMIT.search((APP / rel).read_text()), rel
