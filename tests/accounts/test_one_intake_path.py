"""One intake path: both API routes and both forms call the one service, decode each upload
once, and the two API answers list an image, with its candidates, in one shape."""

import io

import pytest
from PIL import Image, ImageFile

from app.accounts import api_intake, pages_intake
from app.accounts import intake as one_path
from tests.accounts.conftest import submit, upload_reference
from tests.conftest import page_csrf
from tests.matching import scenes


@pytest.fixture
def calls(monkeypatch):
    """Every call of the one intake service from the route modules: (account?, files)."""
    seen = []

    def spy(*args, **kwargs):
        seen.append((kwargs.get("account") is not None, len(args[4])))
        return one_path.take_in(*args, **kwargs)

    for module in (api_intake, pages_intake):
        monkeypatch.setattr(module, "take_in", spy)
    return seen


@pytest.fixture
def decodes(monkeypatch):
    seen = []
    real = ImageFile.ImageFile.load

    def counting(self):
        if self.tile:
            seen.append(self.size)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return seen


def _form_token(client, url):
    return client.get(url).text.split('name="submission" value="')[1].split('"')[0]


def test_the_two_api_routes_and_the_two_forms_take_in_through_the_one_path(as_role, calls,
                                                                            decodes):
    client, _ = as_role("analyst")
    csrf = page_csrf(client)
    photos = [scenes.jpeg(scenes.room(70 + i)) for i in range(4)]

    def files(i):
        return [("files", (f"p{i}.jpg", photos[i], "image/jpeg"))]

    r = client.post("/api/v1/images", files=files(0), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    r = client.post("/intake", files=files(1), data={"csrf_token": csrf})
    assert r.status_code == 200 and "1 new, 0 already held" in r.text
    r = submit(client, "https://www.instagram.com/one_path/", [photos[2]])
    assert r.status_code == 201, r.text
    token = _form_token(client, "/accounts/new")
    r = client.post("/accounts/new", files=files(3), follow_redirects=False,
                    data={"account": "https://www.tiktok.com/@one_path", "csrf_token": csrf,
                          "submission": token})
    assert r.status_code == 303, r.text
    assert calls == [(False, 1), (False, 1), (True, 1), (True, 1)]
    # each upload decoded once by intake, whichever way it came, and once more by its second
    # stage (run after the answer here) for its local features
    assert decodes == [(1200, 900)] * 8


def test_an_account_intake_lists_the_candidates_an_image_intake_lists(as_role, estate):
    """The same picture (the same pixels in other bytes, so each is a new image) sent through
    each route: the same candidates, described alike; the second one also finds the first."""
    client, _ = as_role("supervisor")  # who may add reference photos, and take images in
    csrf = page_csrf(client)
    rgb = scenes.room(81)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))  # a reference photo
    earlier = submit(client, "https://www.instagram.com/earlier/", [scenes.repost(rgb)])
    assert earlier.status_code == 201  # and an evidence image of another account
    picture = Image.fromarray(rgb)
    as_image, as_account = (_jpeg(picture, comment) for comment in (b"one", b"two"))

    by_image = client.post("/api/v1/images", headers={"X-CSRF-Token": csrf},
                           files=[("files", ("a.jpg", as_image, "image/jpeg"))]).json()
    by_account = submit(client, "https://www.instagram.com/later/", [as_account]).json()
    (first,), (second,) = by_image["images"], by_account["images"]
    assert set(first) == set(second)  # one shape for an image, whichever route took it in
    found = [_described(c) for c in first["candidates"]]
    assert [c["cells"][0]["label"] for c in found if c["cells"]] == ["A-1-014"]
    assert [c["posts"][0]["post_url"] for c in found if c["posts"]] == [""]
    assert len(found) == 2
    again = [_described(c) for c in second["candidates"]
             if c["image_id"] != first["image_id"]]
    assert again == found
    assert [c["image_id"] for c in second["candidates"]].count(first["image_id"]) == 1


def _jpeg(picture, comment):
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=90, comment=comment)
    return buf.getvalue()


def _described(candidate):
    """A candidate without its match ids (each route's image has pairs of its own)."""
    out = {k: v for k, v in candidate.items() if k != "match_id"}
    if "photos" in out:
        out["photos"] = [_described(p) for p in out["photos"]]
    return out


def test_openapi_documents_one_image_shape_for_both_answers(client):
    doc = client.get("/openapi.json").json()

    def answer(path, status):
        ref = doc["paths"][path]["post"]["responses"][status]["content"]["application/json"]
        name = ref["schema"]["$ref"].rsplit("/", 1)[1]
        return doc["components"]["schemas"][name]

    for path, name in (("/api/v1/images", "ImagesIntake"), ("/api/v1/accounts",
                                                             "AccountIntake")):
        for status in ("201", "200"):
            schema = answer(path, status)
            assert schema["title"] == name
            assert schema["properties"]["images"]["items"]["$ref"].endswith("/IntakeImage")
        assert {"413", "415", "422"} <= set(doc["paths"][path]["post"]["responses"])
    image = doc["components"]["schemas"]["IntakeImage"]["properties"]
    assert image["candidates"]["items"]["$ref"].endswith("/Candidate")
    assert {"image_id", "sha256", "created", "second_stage_done"} <= set(image)
