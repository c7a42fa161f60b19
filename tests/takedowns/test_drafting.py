"""Drafting: the drafter picks the images, gives what a platform needs, sees notice #1 before
submitting; refusals beside each field keep the form and save nothing."""

import re

from sqlmodel import select

from app.accounts.models import Account
from app.evidence.models import EvidenceImage
from app.takedowns import packfiles
from app.takedowns.models import NoticePreview, Takedown, TakedownImage
from tests.conftest import csrf_from
from tests.takedowns.helpers import act, audits, details, draft_form, fresh, sign_in


def _form(client, world):
    return client.get(f"/accounts/{world.account.id}/takedowns/new")


def _post(client, world, **changes):
    page = _form(client, world)
    data = draft_form([e.id for e in world.evidence], csrf_from(page.text))
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/accounts/{world.account.id}/takedowns", data=data,
                       follow_redirects=False)


def _beside(html, field):
    """The message shown beside one field (its error span), or None."""
    found = re.search(rf'<span class="field-error" id="err-{field}">([^<]*)</span>', html)
    return found.group(1) if found else None


def test_missing_parts_are_refused_beside_each_field_and_the_form_is_kept(client, session,
                                                                           settings, world):
    sign_in(client, world.analyst)
    r = _post(client, world, evidence_ids=None, legal_basis="", contact="call me",
              platform_account_id="ig-123", good_faith=None,
              reason="Taunting the victim from cell A-1-014 every night.")
    assert r.status_code == 422
    html = r.text
    assert "Choose at least one image" in _beside(html, "evidence_ids")
    assert "legal basis" in _beside(html, "legal_basis")
    assert "email address" in _beside(html, "contact")
    assert "digits only" in _beside(html, "platform_account_id")
    assert "good-faith statement" in _beside(html, "good_faith")
    assert _beside(html, "reason") is None
    assert 'aria-invalid="true" aria-describedby="err-contact"' in html
    # what was typed comes back
    assert "Taunting the victim from cell A-1-014 every night." in html
    assert 'value="call me"' in html and 'value="ig-123"' in html
    assert session.exec(select(Takedown)).all() == []
    assert audits(session, "takedown.create") == []
    assert list((settings.data_dir / "packs").rglob("*.pack")) == []  # no preview was made


def test_only_the_accounts_own_images_can_go_in(client, session, world):
    other = Account(platform="instagram", handle="someone_else")
    session.add(other)
    session.flush()
    stranger = EvidenceImage(image_id=world.reference.id, account_id=other.id)
    session.add(stranger)
    session.commit()
    sign_in(client, world.analyst)
    r = _post(client, world, evidence_ids=[str(world.evidence[0].id), str(stranger.id)])
    assert r.status_code == 422
    assert f"these are not: #{stranger.id}" in _beside(r.text, "evidence_ids")
    assert session.exec(select(Takedown)).all() == []
    # an unknown id is no better
    r = _post(client, world, evidence_ids=["999999"])
    assert r.status_code == 422 and "#999999" in _beside(r.text, "evidence_ids")


def test_the_choice_is_stored_audited_and_used_by_the_pack(client, session, world):
    sign_in(client, world.analyst)
    second = world.evidence[1]
    assert _post(client, world, evidence_ids=[str(second.id)]).status_code == 303
    td = session.exec(select(Takedown)).one()
    chosen = session.exec(select(TakedownImage).where(TakedownImage.takedown_id == td.id)).all()
    assert [c.evidence_id for c in chosen] == [second.id]
    created = audits(session, "takedown.create")
    assert details(created[0])["evidence_ids"] == [second.id]
    preview = session.get(NoticePreview, td.id)
    previewed = details(audits(session, "takedown.preview")[0])
    assert (previewed["pack_sha256"], previewed["evidence_ids"]) == (preview.pack_sha256,
                                                                     [second.id])
    assert second.post_url in preview.body
    assert world.evidence[0].post_url not in preview.body
    assert "Evidence (1 image)" in preview.body


def test_the_author_changes_a_draft_and_the_preview_follows(client, session, settings, world,
                                                            make_user):
    first, second = world.evidence
    sign_in(client, world.analyst)
    assert _post(client, world, evidence_ids=[str(first.id)]).status_code == 303
    td = session.exec(select(Takedown)).one()
    before = session.get(NoticePreview, td.id).body
    old_pack = packfiles.path_for(settings, session.get(NoticePreview, td.id).pack_key)
    assert old_pack.is_file()

    form = client.get(f"/takedowns/{td.id}/edit")
    assert form.status_code == 200
    assert f'name="evidence_ids" value="{first.id}" checked' in form.text
    shown = details(audits(session, "takedown.form_view")[-1])  # the account's images were read
    assert (shown["takedown_id"], shown["evidence_ids"]) == (td.id, [first.id, second.id])
    data = draft_form([second.id], csrf_from(form.text), version=str(td.version),
                      reason="Selling drugs from the cell, shown in the second post.")
    r = client.post(f"/takedowns/{td.id}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    after = session.get(NoticePreview, td.id).body
    assert after != before and second.post_url in after and first.post_url not in after
    assert "Selling drugs from the cell" in after
    assert not old_pack.exists()  # the superseded preview's pack is not kept
    edit = audits(session, "takedown.edit")
    assert [(details(edit[0])["evidence_ids_before"], details(edit[0])["evidence_ids"])] == \
        [([first.id], [second.id])]

    # a refused change keeps the stored draft as it was
    bad = client.post(f"/takedowns/{td.id}/edit", follow_redirects=False,
                      data=draft_form([], csrf_from(form.text),
                                      version=str(fresh(session, td.id).version)))
    assert bad.status_code == 422 and "Choose at least one image" in bad.text
    session.expire_all()
    assert session.get(NoticePreview, td.id).body == after

    # someone else may not; nor the author once it is submitted
    other = make_user("analyst")
    sign_in(client, other)
    page = client.get(f"/takedowns/{td.id}/edit")
    r = client.post(f"/takedowns/{td.id}/edit", follow_redirects=False,
                    data=draft_form([first.id], csrf_from(page.text),
                                    version=str(fresh(session, td.id).version)))
    assert r.status_code == 403 and "Only the author" in r.text
    sign_in(client, world.analyst)
    assert act(client, session, td.id, "submit").status_code == 303
    page = client.get(f"/takedowns/{td.id}/edit")
    r = client.post(f"/takedowns/{td.id}/edit", follow_redirects=False,
                    data=draft_form([first.id], csrf_from(page.text),
                                    version=str(fresh(session, td.id).version)))
    assert r.status_code == 409 and "only a draft can be changed" in r.text


def test_a_draft_without_a_preview_cannot_be_submitted(client, session, world):
    td = Takedown(account_id=world.account.id, platform="instagram", reason="r" * 30,
                  author_id=world.analyst.id)
    session.add(td)
    session.commit()
    sign_in(client, world.analyst)
    r = act(client, session, td.id, "submit")
    assert r.status_code == 422 and "has not been previewed" in r.text
    assert fresh(session, td.id).state == "draft"
    assert "complete the draft" in client.get(f"/takedowns/{td.id}").text


def test_a_numeric_profile_id_goes_in_the_notice(client, session, world):
    account = Account(platform="facebook", handle="100012345678901", numeric_id=True)
    session.add(account)
    session.flush()
    evidence = EvidenceImage(image_id=world.images[1].id, account_id=account.id,
                             post_url="https://www.facebook.com/photo/?fbid=42")
    session.add(evidence)
    session.commit()
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{account.id}/takedowns/new")
    assert 'name="platform_account_id" maxlength="32" inputmode="numeric" ' \
           'value="100012345678901"' in form.text
    data = draft_form([evidence.id], csrf_from(form.text), platform_account_id="100012345678901")
    r = client.post(f"/accounts/{account.id}/takedowns", data=data, follow_redirects=False)
    assert r.status_code == 303
    td = session.exec(select(Takedown).where(Takedown.account_id == account.id)).one()
    body = session.get(NoticePreview, td.id).body
    assert "account id 100012345678901" in body
    assert "https://www.facebook.com/photo/?fbid=42" in body


def test_a_withdrawn_image_cannot_be_chosen(client, session, settings, world):
    from app.matching.withdrawal import withdraw
    from tests.conftest import TEST_ACTOR

    withdraw(session, settings, TEST_ACTOR, image=world.images[1],
             reason="Posted by the victim, not from the cell")
    session.commit()
    sign_in(client, world.analyst)
    form = _form(client, world).text
    assert f'name="evidence_ids" value="{world.evidence[1].id}" disabled' in form
    r = _post(client, world)
    assert r.status_code == 422
    assert f"Withdrawn images cannot go out: #{world.evidence[1].id}" in \
        _beside(r.text, "evidence_ids")
    assert session.exec(select(Takedown)).all() == []


def test_an_image_withdrawn_after_the_preview_stops_submission_and_approval(client, session,
                                                                           settings, world):
    from app.matching.withdrawal import withdraw
    from tests.conftest import TEST_ACTOR

    sign_in(client, world.analyst)
    assert _post(client, world).status_code == 303
    td = session.exec(select(Takedown)).one()
    assert act(client, session, td.id, "submit").status_code == 303
    withdraw(session, settings, TEST_ACTOR, image=world.images[1],
             reason="Posted by the victim, not from the cell")
    session.commit()
    sign_in(client, world.sup1)
    r = act(client, session, td.id, "approve")
    assert r.status_code == 422
    assert f"#{world.evidence[1].id} were withdrawn since notice #1 was previewed: return it " \
           "to the author" in r.text
    assert fresh(session, td.id).state == "awaiting_approval"
    page = client.get(f"/takedowns/{td.id}").text
    assert f"Image #{world.evidence[1].id} withdrawn" in page  # shown in the evidence
    assert act(client, session, td.id, "return", note="image withdrawn").status_code == 303
    sign_in(client, world.analyst)
    r = act(client, session, td.id, "submit")
    assert r.status_code == 422 and "change the draft to preview it again" in r.text
