from tests.conftest import login


def test_login_page_renders(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert "Sign in" in r.text


def test_analyst_signs_in_and_sees_home(client, make_user):
    user = make_user("analyst")
    login(client, user.username)
    r = client.get("/")
    assert r.status_code == 200
    assert f"Welcome, {user.username}" in r.text
