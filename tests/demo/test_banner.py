"""The banner says the data is a fictional demo on every page of a demo database, and only
there; CELLWATCH_DEMO=false turns it off."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app


def test_no_banner_on_a_database_without_the_demo(as_role):
    client, _ = as_role("analyst")
    assert "demo-banner" not in client.get("/accounts").text
    assert "demo-banner" not in client.get("/login").text


def test_banner_on_every_page_of_the_demo_even_signed_out(demo, analyst):
    for path in ("/", "/accounts", "/takedowns", "/searches", "/estate", "/reports"):
        page = analyst.get(path)
        assert page.status_code == 200, path
        assert 'class="demo-banner"' in page.text, path
    settings = demo[0]
    with TestClient(create_app(settings)) as anonymous:
        assert "fictional" in anonymous.get("/login").text


def test_demo_off_hides_the_banner(demo):
    settings = demo[0].model_copy(update={"demo": False})
    with TestClient(create_app(settings)) as anonymous:
        assert "demo-banner" not in anonymous.get("/login").text
