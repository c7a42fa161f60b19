"""What the demo's analysts and supervisor did about each account, through the same services
the pages call: cell decisions and attributions, assignments and closures, takedowns walked
through the state machine (drafted by the analyst, approved by the supervisor), and cell
searches requested, acknowledged and completed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from sqlmodel import Session

from app.accounts import attribution
from app.accounts import service as accounts
from app.accounts.models import AttributionStatus
from app.auth.permissions import Role, permissions_for
from app.cellsearch import service as searches
from app.db import unit_of_work
from app.demo.stories import STORIES, Story
from app.matching.service import ranked_candidates
from app.takedowns import service as takedowns
from app.takedowns.drafts import Draft
from app.takedowns.forms import DEFAULT_LEGAL_BASIS
from app.takedowns.machine import Action, State

if TYPE_CHECKING:
    from app.demo.build import Built, Crew

Factory = Callable[[], Session]
# the moves that bring a new takedown to each state, and who makes each one
PATHS: dict[str, list[Action]] = {
    "draft": [],
    "awaiting_approval": [Action.submit],
    "approved": [Action.submit, Action.approve],
    # sending a portal platform's notice makes it ready to submit; "sent" once it is filed
    "ready_to_submit": [Action.submit, Action.approve, Action.send],
    "sent": [Action.submit, Action.approve, Action.send],
    "acknowledged": [Action.submit, Action.approve, Action.send, Action.acknowledge],
    "removed": [Action.submit, Action.approve, Action.send, Action.acknowledge,
                Action.record_removed],
    "refused": [Action.submit, Action.approve, Action.send, Action.record_refused],
    "withdrawn": [Action.submit, Action.withdraw],
}
NOTES = {Action.record_refused: "The platform found no breach of its community standards.",
         Action.withdraw: "The account was made private and has not posted since; "
                          "withdrawn to be raised again if it becomes active.",
         Action.acknowledge: "The platform acknowledged the request."}
SEARCH_FINDS = searches.Items(phones=2, sim_cards=1, chargers=1)
DEMO_CONTACT = "dsu-demo@example.org"  # fictional, as everything in the demo


def work_through(factory: Factory, crew: Crew, accounts_by_handle: dict[str, int],
                 chosen: dict[int, tuple[str, str]], today: date, built: Built) -> None:
    for story in STORIES:
        account_id = accounts_by_handle.get(story.handle)
        if account_id is None:
            continue
        with unit_of_work(factory) as session:
            if story.cell and not _decide_cells(session, crew, story, account_id):
                built.unmatched.append(story.handle)
                continue
            if story.assigned:
                accounts.assign(session, crew.actor(Role.supervisor), [account_id],
                                crew.users[Role.analyst].id)
            if story.close:
                accounts.close_no_further_action(session, crew.actor(Role.analyst),
                                                 [account_id], story.close)
        if story.takedown:
            _takedown(factory, crew, story, account_id, chosen)
        if story.search:
            _search(factory, crew, story, account_id, today)


def _decide_cells(session: Session, crew: Crew, story: Story, account_id: int) -> bool:
    """Confirm (or reject) each image's cell candidate, then decide the suggestions the
    confirmed cell made. False: no image of the account has a cell candidate."""
    actor = crew.actor(Role.analyst)
    confirm = story.cell == "confirm"
    found = False
    for evidence, _ in accounts.images_of(session, account_id):
        ranked = ranked_candidates(session, evidence.image_id).entries
        cell = next((c for c in ranked if c.kind == "cell" and c.status == "pending"), None)
        if cell is None:
            found = found or any(c.kind == "cell" for c in ranked)
            continue
        found = True
        attribution.decide_cell(session, actor, cell.best.match, confirm=confirm,
                                note="" if confirm else "Not this cell: the window is on the "
                                "other wall.", tz=crew.settings.local_timezone)
    if not (confirm and story.attribution):
        return found
    suggested = [row for row, _ in attribution.for_account(session, account_id)
                 if row.status == AttributionStatus.suggested.value]
    for n, row in enumerate(sorted(suggested, key=lambda r: r.id or 0)):
        keep = story.attribution == "confirm" or n == 0
        attribution.decide(session, actor, row, confirm=keep,
                           note="" if keep else "Cell-mate; the photos show the other "
                           "occupant's belongings.")
    return found


def _takedown(factory: Factory, crew: Crew, story: Story, account_id: int,
              chosen: dict[int, tuple[str, str]]) -> None:
    cell = next((chosen[c] for c, _ in story.shots if c >= 0), None)
    where = f" from cell {cell[1]} at {cell[0]}" if cell else ""
    reason = (f"The account is run from a smuggled phone{where}: its photos match the cell's "
              "reference photos. Possession of a phone in prison is an offence (Prison Act "
              "1952, s.40D); the account breaches the platform's terms.")
    analyst = takedowns.Doer(crew.actor(Role.analyst), permissions_for(Role.analyst))
    supervisor = takedowns.Doer(crew.actor(Role.supervisor), permissions_for(Role.supervisor))
    with unit_of_work(factory) as session:
        # the images the analyst chooses: every held picture of the account (the demo's
        # accounts hold only their own photos of the cell and of nothing in particular)
        chosen_ids = tuple(sorted(e.id or 0 for e, i in accounts.images_of(session, account_id)
                                  if i.erased_at is None))
        draft = Draft(reason=reason, evidence_ids=chosen_ids, legal_basis=DEFAULT_LEGAL_BASIS,
                      contact=f"Digital investigations unit, {DEMO_CONTACT}", good_faith=True)
        takedown_id = takedowns.create_takedown(session, crew.settings, analyst, account_id,
                                                draft).id or 0
    for action in PATHS[story.takedown]:
        doer = supervisor if action is Action.approve else analyst
        with unit_of_work(factory) as session:
            row = takedowns.get_takedown(session, takedown_id)
            takedowns.transition(session, crew.settings, doer, takedown_id, action.value,
                                 version=row.version, note=NOTES.get(action, ""),
                                 reference=f"DEMO-{takedown_id:04d}"
                                 if action is Action.acknowledge else "")
            filed = (action is Action.send and story.takedown != State.ready_to_submit.value
                     and takedowns.get_takedown(session, takedown_id).state
                     == State.ready_to_submit.value)
        if filed:  # a portal's notice: someone filed it by hand, and records so
            with unit_of_work(factory) as session:
                row = takedowns.get_takedown(session, takedown_id)
                takedowns.transition(session, crew.settings, analyst, takedown_id,
                                     Action.record_submitted.value, version=row.version,
                                     note="Filed on the platform's reporting form.",
                                     reference=f"PORTAL-{takedown_id:04d}")


def _search(factory: Factory, crew: Crew, story: Story, account_id: int, today: date) -> None:
    actor = crew.actor(Role.analyst)
    with unit_of_work(factory) as session:
        confirmed = [row for row, _ in attribution.for_account(session, account_id)
                     if row.status == AttributionStatus.confirmed.value and row.cell_id]
        search = searches.request_search(
            session, actor, attribution_id=confirmed[0].id or 0, urgency="urgent",
            reason="Photos posted from the cell this week; search for the phone and SIM.",
            prisoner_ids=None, day=today)
        if story.search in ("acknowledged", "completed"):
            search = searches.acknowledge(session, crew.actor(Role.supervisor), search.id or 0,
                                          expected_version=search.version)
        if story.search == "completed":
            searches.complete(session, crew.actor(Role.supervisor), search.id or 0,
                              expected_version=search.version,
                              outcome=searches.Outcome(SEARCH_FINDS, note="Phone found inside "
                                                       "the mattress; SIM in a shampoo bottle."))
