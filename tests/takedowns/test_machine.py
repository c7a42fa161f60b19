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
    state = check(state, Action.submit, actor_id=1, author_id=1,
                  permissions=ANALYST, channel="email").target
    with pytest.raises(TransitionRefused, match="other than the author"):
        check(state, Action.approve, actor_id=1, author_id=1,
              permissions=SUPERVISOR, channel="email")
    with pytest.raises(TransitionRefused, match="may not approve"):
        check(state, Action.approve, actor_id=2, author_id=1, permissions=ANALYST, channel="email")
    state = check(state, Action.approve, actor_id=2, author_id=1,
                  permissions=SUPERVISOR, channel="email").target
    state = check(state, Action.send, actor_id=1, author_id=1,
                  permissions=ANALYST, channel="email").target
    state = check(state, Action.acknowledge, actor_id=1, author_id=1,
                  permissions=ANALYST, channel="email").target
    state = check(state, Action.record_removed, actor_id=1, author_id=1,
                  permissions=ANALYST, channel="email").target
    assert state is State.removed


def test_refusal_and_withdrawal_need_a_reason():
    with pytest.raises(TransitionRefused, match="needs a reason"):
        check(State.sent, Action.record_refused, actor_id=1, author_id=1,
              permissions=ANALYST, channel="email")
    done = check(State.sent, Action.record_refused, actor_id=1, author_id=1,
                 permissions=ANALYST, note="not against community standards", channel="email")
    assert done.target is State.refused


@given(st.sampled_from(list(FINAL_STATES)), st.sampled_from(list(Action)))
def test_nothing_leaves_a_final_state(state, action):
    with pytest.raises(TransitionRefused):
        for channel in ("email", "portal", "webhook"):
            check(state, action, actor_id=2, author_id=1, permissions=SUPERVISOR, note="x",
                  channel=channel)


def test_sending_skips_no_approval():
    for state in (State.draft, State.awaiting_approval):
        with pytest.raises(TransitionRefused):
            check(state, Action.send, actor_id=2, author_id=1,
                  permissions=SUPERVISOR, channel="email")


def test_table_has_one_transition_per_state_action_and_channel():
    for channel in ("email", "portal", "webhook"):
        keys = [(t.source, t.action) for t in TRANSITIONS
                if not t.channels or channel in t.channels]
        assert len(keys) == len(set(keys)), channel


def test_a_portal_notice_is_ready_to_submit_until_someone_records_it():
    ready = check(State.approved, Action.send, actor_id=1, author_id=1, permissions=ANALYST,
                  channel="portal")
    assert (ready.target, ready.label) == (State.ready_to_submit, "Make notice #1 ready to submit")
    with pytest.raises(TransitionRefused, match="not possible"):  # nothing went: no outcome yet
        check(State.ready_to_submit, Action.record_removed, actor_id=1, author_id=1,
              permissions=ANALYST, channel="portal")
    submitted = check(State.ready_to_submit, Action.record_submitted, actor_id=1, author_id=1,
                      permissions=ANALYST, channel="portal")
    assert submitted.target is State.sent
    withdrawn = check(State.ready_to_submit, Action.withdraw, actor_id=1, author_id=1,
                      permissions=ANALYST, channel="portal", note="the account is gone")
    assert withdrawn.target is State.withdrawn
    with pytest.raises(TransitionRefused, match="not possible"):  # email is sent, not filed
        check(State.sent, Action.record_submitted, actor_id=1, author_id=1,
              permissions=ANALYST, channel="email")


def test_email_and_webhook_notices_are_sent_at_once():
    for channel in ("email", "webhook"):
        sent = check(State.approved, Action.send, actor_id=1, author_id=1, permissions=ANALYST,
                     channel=channel)
        assert (sent.target, sent.label) == (State.sent, "Send notice #1")


def test_auditors_cannot_record_a_submission():
    with pytest.raises(TransitionRefused, match="may not record as submitted"):
        check(State.ready_to_submit, Action.record_submitted, actor_id=1, author_id=2,
              permissions=ROLE_PERMISSIONS[Role.auditor], channel="portal")


def test_buttons_for_the_author_never_include_approval():
    own = available(State.awaiting_approval, SUPERVISOR, actor_id=1, author_id=1,
                    channel="email")
    assert Action.approve not in {t.action for t in own}
    other = available(State.awaiting_approval, SUPERVISOR, actor_id=2, author_id=1,
                      channel="email")
    assert Action.approve in {t.action for t in other}


def test_buttons_follow_the_channel():
    portal = available(State.approved, ANALYST, actor_id=1, author_id=2, channel="portal")
    email = available(State.approved, ANALYST, actor_id=1, author_id=2, channel="email")
    assert [t.label for t in portal if t.action is Action.send] == [
        "Make notice #1 ready to submit"]
    assert [t.label for t in email if t.action is Action.send] == ["Send notice #1"]
