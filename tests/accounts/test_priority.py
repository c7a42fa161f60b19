from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.accounts.priority import PriorityInput, explain, factors

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _input(**kw):
    base = dict(re_emerged=False, victim_contact=False, organised_crime=False, category_a=False,
                newest_post_at=None, image_count=0, action_taken=True)
    base.update(kw)
    return PriorityInput(**base)


def test_re_emerged_victim_contact_account_outranks_a_stale_one():
    urgent = factors(_input(re_emerged=True, victim_contact=True,
                            newest_post_at=NOW - timedelta(hours=2), image_count=3), NOW)
    stale = factors(_input(newest_post_at=NOW - timedelta(days=60), image_count=30,
                           action_taken=False), NOW)
    assert sum(urgent.values()) > sum(stale.values())
    assert urgent == {"re_emerged": 50, "victim_contact": 40, "recent_post": 30, "images": 6}
    assert stale == {"images": 20, "no_action_yet": 15}


def test_recency_steps():
    for age, points in ((timedelta(hours=23), 30), (timedelta(days=3), 20),
                        (timedelta(days=20), 10), (timedelta(days=31), None)):
        got = factors(_input(newest_post_at=NOW - age), NOW).get("recent_post")
        assert got == points


def test_explanation_lists_largest_factor_first():
    shown = explain({"images": 4, "re_emerged": 50})
    assert shown == [("re-emerged after removal", 50),
                     ("images and videos held (a video counts once)", 4)]


@given(st.booleans(), st.booleans(), st.booleans(), st.booleans(),
       st.integers(min_value=0, max_value=10_000), st.booleans())
def test_every_factor_only_adds(re, vc, oc, ca, images, acted):
    data = _input(re_emerged=re, victim_contact=vc, organised_crime=oc, category_a=ca,
                  image_count=images, action_taken=acted)
    points = factors(data, NOW)
    assert all(v > 0 for v in points.values())
    assert points.get("images", 0) <= 20
