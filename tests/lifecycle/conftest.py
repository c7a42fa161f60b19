"""A world to erase: an account with two images (one matching a reference photo of its cell,
so a suggested attribution rests on that match), a takedown citing one of them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from app.accounts.models import Attribution
from app.evidence import storage
from app.evidence.models import Image
from tests.accounts.conftest import estate, submit, upload_reference  # noqa: F401  (estate: fixture)
from tests.conftest import login, page_csrf
from tests.matching import scenes

POST_URL = "https://www.instagram.com/p/ERASEME1/"
HANDLE = "erase_me_now"


@dataclass
class World:
    account: int
    images: list[int]
    evidence: list[int]
    filenames: list[str]
    secrets: list[str]  # what erasure must leave nowhere: digests, hashes, storage keys
    backups: dict[str, bytes]  # an older backup of the sealed files
    attribution: int
    match: int
    takedown: int
    supervisor: object
    analyst: object


def sealed(settings, image: Image) -> dict[str, bytes]:
    return {f"{image.id}-{kind}": storage.path_for(settings, image.storage_key, kind).read_bytes()
            for kind in storage.KINDS}


@pytest.fixture
def world(client, make_user, estate, session, settings):  # noqa: F811
    supervisor, analyst = make_user("supervisor"), make_user("analyst")
    rgb = scenes.room(61)
    login(client, supervisor.username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, analyst.username)
    r = submit(client, f"@{HANDLE}", [scenes.repost(rgb), scenes.jpeg(scenes.room(62))],
               platform="instagram", posted_at="2025-01-20T09:00", post_url=POST_URL)
    assert r.status_code in (200, 201), r.text
    body = r.json()
    account = body["account"]["id"]
    images = [i["image_id"] for i in body["images"]]
    evidence = [i["evidence_id"] for i in body["images"]]
    [cell_match] = body["images"][0]["candidates"]  # the analyst confirms the cell: the
    confirmed = client.post(f"/api/v1/matches/{cell_match['match_id']}/confirm",  # suggestions
                            headers={"X-CSRF-Token": page_csrf(client)})       # rest on it
    assert confirmed.status_code == 200, confirmed.text
    attribution = session.exec(select(Attribution).where(
        Attribution.account_id == account, col(Attribution.match_id).is_not(None))).first()
    assert attribution is not None, "the cell match suggested no attribution"
    made = client.post("/api/v1/takedowns", headers={"X-CSRF-Token": page_csrf(client)},
                       json={"account_id": account, "evidence_ids": [evidence[0]],
                             "reason": "Taunting a victim from inside a cell",
                             "legal_basis": "Malicious Communications Act 1988, s.1",
                             "contact": "unit@example.org", "good_faith": True})
    assert made.status_code == 201, made.text
    secrets, backups = [], {}
    for image_id in images:
        image = session.get(Image, image_id)
        secrets += [image.sha256, str(image.phash), str(image.dhash), image.storage_key]
        backups.update(sealed(settings, image))
    return World(account, images, evidence, ["p0.jpg", "p1.jpg"], secrets, backups,
                 attribution.id, attribution.match_id, made.json()["id"], supervisor, analyst)
