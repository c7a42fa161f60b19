import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.auth.permissions import ROLE_PERMISSIONS, Role
from app.takedowns.machine import (
    FINAL_STATES,
    TRANSITIONS,
    Action,
    State,
    TransitionRefused,
    available,
    check,
)

ANALYST = ROLE_PERMISSIONS[Role.analyst]
SUPERVISOR = ROLE_PERMISSIONS[Role.supervisor]


def test_happy_path_needs_a_second_person():
    state = State.draft
    state = check(state, Action.submit, actor_id=1, author_id=1, permissions=ANALYST).target
    with pytest.raises(TransitionRefused, match="other than the author"):
        check(state, Action.approve, actor_id=1, author_id=1, permissions=SUPERVISOR)
    with pytest.raises(TransitionRefused, match="may not approve"):
        check(state, Action.approve, actor_id=2, author_id=1, permissions=ANALYST)
    state = check(state, Action.approve, actor_id=2, author_id=1, permissions=SUPERVISOR).target
    state = check(state, Action.send, actor_id=1, author_id=1, permissions=ANALYST).target
    state = check(state, Action.acknowledge, actor_id=1, author_id=1, permissions=ANALYST).target
    state = check(state, Action.record_removed, actor_id=1, author_id=1,
                  permissions=ANALYST).target
    assert state is State.removed


def test_refusal_and_withdrawal_need_a_reason():
    with pytest.raises(TransitionRefused, match="needs a reason"):
        check(State.sent, Action.record_refused, actor_id=1, author_id=1, permissions=ANALYST)
    done = check(State.sent, Action.record_refused, actor_id=1, author_id=1,
                 permissions=ANALYST, note="not against community standards")
    assert done.target is State.refused


@given(st.sampled_from(list(FINAL_STATES)), st.sampled_from(list(Action)))
def test_nothing_leaves_a_final_state(state, action):
    with pytest.raises(TransitionRefused):
        check(state, action, actor_id=2, author_id=1, permissions=SUPERVISOR, note="x")


def test_sending_skips_no_approval():
    for state in (State.draft, State.awaiting_approval):
        with pytest.raises(TransitionRefused):
            check(state, Action.send, actor_id=2, author_id=1, permissions=SUPERVISOR)


def test_table_has_one_transition_per_state_and_action():
    keys = [(t.source, t.action) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_buttons_for_the_author_never_include_approval():
    own = available(State.awaiting_approval, SUPERVISOR, actor_id=1, author_id=1)
    assert Action.approve not in {t.action for t in own}
    other = available(State.awaiting_approval, SUPERVISOR, actor_id=2, author_id=1)
    assert Action.approve in {t.action for t in other}
