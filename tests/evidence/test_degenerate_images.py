"""Degenerate pictures (a single pixel, a one-pixel line, one colour, all transparent) are
accepted or refused with a clear 422 on every upload path, never a server error, and a refusal
stores nothing. The matching worker then runs their second stages without failing."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage
from sqlmodel import select

from app.matching.models import MatchRun
from tests.conftest import page_csrf
from tests.evidence.conftest import assert_nothing_stored


def _png(size: tuple[int, int], mode: str = "RGB", colour: object = (90, 90, 90)) -> bytes:
    out = io.BytesIO()
    PILImage.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


PICTURES = {
    "dot.png": lambda: _png((1, 1)),
    "line-wide.png": lambda: _png((40000, 1)),
    "line-tall.png": lambda: _png((1, 40000)),
    "two-rows.png": lambda: _png((3000, 2)),
    "grey.png": lambda: _png((800, 600)),
    "clear.png": lambda: _png((640, 480), "RGBA", (0, 0, 0, 0)),
}


def _check(r, session, settings, name: str) -> None:
    assert r.status_code in (200, 201, 422), (name, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert name in r.text and "nothing was stored" in r.text.lower()
        assert_nothing_stored(session, settings)


@pytest.fixture
def analyst(as_role):
    client, _ = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_intake_api_and_page(analyst, session, settings, name):
    data = PICTURES[name]()
    for path in ("/api/v1/images", "/intake"):
        r = analyst.post(path, files=[("files", (name, data, "image/png"))])
        _check(r, session, settings, name)
        if r.status_code != 422:
            return  # stored once: the second path would only find the same picture


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_reference_photo(as_role, session, settings, cell, name):
    client, _ = as_role("supervisor")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    r = client.post(f"/api/v1/cells/{cell.id}/photos",
                    files=[("files", (name, PICTURES[name](), "image/png"))])
    _check(r, session, settings, name)


@pytest.mark.parametrize("name", ["grey.png", "clear.png", "two-rows.png"])
def test_the_second_stage_of_a_featureless_picture_completes(analyst, session, name):
    """No corners, no local features: the second stage finds nothing and says done."""
    r = analyst.post("/api/v1/images", files=[("files", (name, PICTURES[name](),
                                                         "image/png"))])
    if r.status_code == 422:
        return  # refused clearly at intake (checked above): no stage to run
    assert r.status_code == 201, r.text
    session.expire_all()  # the test app ran the stage after its answer
    runs = session.exec(select(MatchRun)).all()
    assert runs and all(run.error == "" and run.second_stage_at for run in runs)
