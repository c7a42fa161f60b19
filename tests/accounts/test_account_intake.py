import re

from sqlmodel import func, select

from app.accounts.models import Account, IdempotencyKey
from app.evidence.models import EvidenceImage
from tests.accounts.conftest import submit
from tests.conftest import page_csrf
from tests.evidence import samples
from tests.matching import scenes


def test_three_ways_of_writing_one_account_give_one_account(as_role, session):
    client, _ = as_role("analyst")
    first = submit(client, "@JohnDoe", platform="x")
    assert first.status_code == 201 and first.json()["created"]
    for text in ("https://x.com/johndoe/?s=20", "twitter.com/JOHNDOE"):
        again = submit(client, text)
        assert again.status_code == 200 and not again.json()["created"]
        assert again.json()["account"]["id"] == first.json()["account"]["id"]
    assert session.exec(select(func.count()).select_from(Account)).one() == 1
    assert first.json()["account"]["handle"] == "johndoe"


def test_invisible_character_is_a_clear_422(as_role, session):
    client, _ = as_role("analyst")
    r = submit(client, "@john\u200bdoe", platform="instagram")
    assert r.status_code == 422
    assert "U+200B" in r.json()["message"]
    assert session.exec(select(func.count()).select_from(Account)).one() == 0


def test_idempotency_key_replays_the_first_answer(as_role, session):
    client, _ = as_role("analyst")
    photo = scenes.jpeg(scenes.room(61))
    one = submit(client, "https://www.instagram.com/cell_life/", [photo], key="key-123456")
    two = submit(client, "https://www.instagram.com/cell_life/", [photo], key="key-123456")
    assert one.status_code == 201 and two.status_code == 201
    assert two.json() == one.json() and two.headers["idempotent-replay"] == "true"
    assert session.exec(select(func.count()).select_from(EvidenceImage)).one() == 1
    other = submit(client, "https://www.instagram.com/another/", [photo], key="key-123456")
    assert other.status_code == 422 and "different submission" in other.json()["message"]
    assert session.exec(select(func.count()).select_from(IdempotencyKey)).one() == 1


def test_double_click_on_the_form_makes_one_submission(as_role, session):
    client, _ = as_role("analyst")
    form = client.get("/accounts/new").text
    token = form.split('name="submission" value="')[1].split('"')[0]
    data = {"account": "https://www.tiktok.com/@yard_talk", "csrf_token": page_csrf(client),
            "submission": token}
    files = [("files", ("a.jpg", scenes.jpeg(scenes.room(62)), "image/jpeg"))]
    first = client.post("/accounts/new", data=data, files=files, follow_redirects=False)
    second = client.post("/accounts/new", data=data, files=files, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert session.exec(select(func.count()).select_from(Account)).one() == 1
    assert session.exec(select(func.count()).select_from(EvidenceImage)).one() == 1


def test_form_errors_keep_what_was_typed(as_role):
    client, _ = as_role("analyst")
    r = client.post("/accounts/new", data={"account": "@someone", "csrf_token":
                                           page_csrf(client)})
    assert r.status_code == 422
    assert "choose the platform" in r.text.lower() and 'value="@someone"' in r.text


def test_account_page_shows_images_and_is_audited(as_role, session):
    client, user = as_role("analyst")
    r = submit(client, "https://www.instagram.com/wing_a/", [scenes.jpeg(scenes.room(63))])
    account_id = r.json()["account"]["id"]
    page = client.get(f"/accounts/{account_id}")
    assert page.status_code == 200
    assert "Instagram" in page.text and "wing_a" in page.text
    assert "https://www.instagram.com/wing_a/" in page.text
    assert "Images (1)" in page.text and "Why this priority" in page.text
    from app.audit.models import AuditEvent

    views = session.exec(select(AuditEvent).where(AuditEvent.action == "account.view")).all()
    assert views[-1].object_ids == f'["{account_id}"]' and views[-1].actor_name == user.username


def test_auditor_and_admin_cannot_see_accounts(as_role):
    for role in ("auditor", "admin"):
        client, _ = as_role(role)
        assert client.get("/accounts").status_code == 403


def test_account_page_panel_lists_its_takedowns(as_role):
    client, _ = as_role("analyst")
    made = submit(client, "@panel_case", [samples.jpeg(seed=31)], platform="x").json()
    account_id = made["account"]["id"]
    empty = client.get(f"/accounts/{account_id}/takedowns/panel")
    assert empty.status_code == 200 and "No takedown requested yet." in empty.text
    evidence_id = client.get(f"/api/v1/accounts/{account_id}").json()["images"][0]["evidence_id"]
    r = client.post(f"/accounts/{account_id}/takedowns", data={
        "csrf_token": page_csrf(client), "evidence_ids": [str(evidence_id)],
        "reason": "Account run from a cell; posts taunt the victim's family.",
        "legal_basis": "Prison Act 1952, section 40D.", "good_faith": "yes",
        "contact": "Digital investigations unit, du@prisons.example"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    panel = client.get(f"/accounts/{account_id}/takedowns/panel").text
    assert "TD-" in panel and "draft" in panel
    page = client.get(f"/accounts/{account_id}").text
    assert f'hx-get="/accounts/{account_id}/takedowns/panel"' in page


def test_each_form_error_shows_beside_its_field_and_nothing_is_stored(as_role, session):
    client, _ = as_role("analyst")
    r = client.post("/accounts/new", data={
        "account": "@someone", "posted_at": "last tuesday", "notes": "seen on a drone drop",
        "post_url": "https://x.com/someone/status/1", "csrf_token": page_csrf(client)},
        files=[("files", ("a.jpg", scenes.jpeg(scenes.room(63)), "image/jpeg"))])
    assert r.status_code == 422
    html = r.text
    account_error = html.split('id="account-error">')[1].split("</span>")[0]
    assert "choose the platform" in account_error.lower()
    assert 'id="posted_at-error">The post time “last tuesday” is not a date and time' in html
    # the input names its error for screen readers; what was typed stays in the form
    assert re.search(r'name="account"[^>]*value="@someone"[^>]*aria-invalid="true"'
                     r'[^>]*aria-describedby="account-error"', html)
    assert 'value="last tuesday"' in html and "seen on a drone drop</textarea>" in html
    assert session.exec(select(func.count()).select_from(Account)).one() == 0
    assert session.exec(select(func.count()).select_from(EvidenceImage)).one() == 0


def test_a_refused_file_is_listed_beside_the_file_field(as_role, session):
    client, _ = as_role("analyst")
    r = client.post("/accounts/new", data={"account": "https://www.tiktok.com/@yard_talk",
                                           "csrf_token": page_csrf(client)},
                    files=[("files", ("notes.txt", b"not a picture at all", "image/jpeg"))])
    assert r.status_code in (415, 422)
    beside = r.text.split('id="files-error">')[1].split('<label>Post URL')[0]
    assert "choose the files again" in beside and "notes.txt" in beside
    assert 'value="https://www.tiktok.com/@yard_talk"' in r.text
    assert session.exec(select(func.count()).select_from(Account)).one() == 0
