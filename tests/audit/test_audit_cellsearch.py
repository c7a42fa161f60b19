"""A cell search taken through its pages, from a confirmed attribution to the items found,
leaves its audit rows; its request form and the search itself show prisoners' names and are
reads (the API's request, acknowledgement and completion: test_audit_coverage.py)."""

from __future__ import annotations

from app.accounts import attribution
from app.accounts.models import Attribution
from app.audit.service import Actor
from app.cellsearch.models import CellSearch
from app.matching.models import Match
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import Row, W, Walk, one, reads


def _confirmed(walk: Walk) -> None:
    """An analyst confirmed the cell match and its first suggestion (both audited rows of
    test_audit_accounts.py)."""
    session, world = walk.session, walk.world
    analyst = Actor(user_id=world["analyst"], name=world["analyst_name"])
    attribution.decide_match(session, analyst, session.get(Match, world["match"]),
                             confirm=True, note="", tz="Europe/London")
    walk.late()
    attribution.decide(session, analyst, session.get(Attribution, world["attribution"]),
                       confirm=True)
    session.commit()


def people(w: W) -> list[int]:
    """The attributed prisoner, and Baker, in the cell today."""
    return sorted([w["attributed"], w["baker"]])


ROWS = [
    *reads(Row("analyst", "GET", "/attributions/{attribution}/search/new", "estate.read",
               "prisoner", people, before=_confirmed, details={"view": "cell search request"})),
    Row("analyst", "POST", "/attributions/{attribution}/search", "cell_search.request",
        "cell_search", one("search"),
        form={"reason": "Photos of this cell on Instagram", "urgency": "urgent",
              "prisoner": ["{attributed}", "{baker}"]}),
    *reads(
        Row("analyst", "GET", "/searches/{search}", "estate.read", "prisoner", people,
            details={"view": "cell search"}),
        Row("analyst", "GET", "/api/v1/searches/{search}", "estate.read", "prisoner", people,
            details={"view": "api cell search"}),
    ),
    Row("analyst", "POST", "/searches/{search}/acknowledge", "cell_search.acknowledge",
        "cell_search", one("search"), form={"version": "{search_version}"}),
    Row("analyst", "POST", "/searches/{search}/complete", "cell_search.complete",
        "cell_search", one("search"), form={"version": "{search_version}", "phones": "2"}),
]


def _late(walk: Walk) -> None:
    found = walk.session.get(Attribution, walk.world["attribution"]) \
        if walk.world["attribution"] else None
    walk.world["attributed"] = found.prisoner_id if found else None


def test_a_cell_search_through_its_pages_leaves_its_audit_rows(client, make_user,
                                                               estate, session):  # noqa: F811
    walk = Walk(client, make_user, estate, session, late=_late)
    problems = walk.run(ROWS)
    assert problems == [], "\n".join(problems)
    session.expire_all()
    search = session.get(CellSearch, walk.world["search"])
    assert (search.state, search.phones) == ("completed", 2)
