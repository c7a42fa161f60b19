"""videos as videos: platforms still on the former default notice template move to the one
that lists each video a takedown's pack draws on (its post, length and original's sha256) and
says which video each frame comes from; accounts holding videos count each video once in their
triage priority, not each of its sampled frames

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 01:00:00

Data only: a template a supervisor wrote is left as written (the notice still carries every
video's post address, which a template must name, and the manifest names each original).
An account's count and its "images" points are recomputed as app/accounts/service.py now does
(photos + videos); the downgrade leaves them (the former count comes back with the account's
next change).
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT_TEMPLATE = (
    'Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}\n'  # noqa: E501
    '\n'
    'To the {{ account.platform_name }} trust and safety team,\n'
    '\n'
    'We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"\n'
    '({{ account.url }}){% if account.numeric_id %}, account id {{ account.numeric_id }}{% endif %}.\n'  # noqa: E501
    'It is operated from inside a prison on an illicit mobile phone.\n'
    '\n'
    'Legal basis:\n'
    '{{ legal_basis }}\n'
    '\n'
    'Reason:\n'
    '{{ reason }}\n'
    '\n'
    'Addresses concerned:\n'
    '{% for url in urls %}\n'
    '- {{ url }}\n'
    '{% endfor %}\n'
    '\n'
    'Evidence ({{ evidence | length }} image{{ "s" if evidence | length != 1 }}). Display copies and a\n'  # noqa: E501
    'manifest giving the SHA-256 of every original are in the attached pack {{ pack.filename }}\n'
    '(SHA-256 {{ pack.sha256 }}).\n'
    '{% for item in evidence %}\n'
    '{{ item.number }}. {{ item.post_url or "post address not known" }}\n'
    '   posted {{ item.posted_at or "time not known" }}, SHA-256 {{ item.sha256 }}\n'
    '{% endfor %}\n'
    '{% if notice_number > 1 %}\n'
    '\n'
    'This is reminder {{ notice_number }}; our first notice was sent on {{ first_sent_at }}.\n'
    '{% if platform_reference %}Your reference: {{ platform_reference }}.\n'
    '{% endif %}\n'
    '{% endif %}\n'
    '\n'
    '{{ good_faith_statement }}\n'
    '\n'
    'Contact: {{ contact }}\n'
    'Please reply quoting {{ reference }}.\n'
)

NEW_DEFAULT_TEMPLATE = (
    'Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}\n'  # noqa: E501
    '\n'
    'To the {{ account.platform_name }} trust and safety team,\n'
    '\n'
    'We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"\n'
    '({{ account.url }}){% if account.numeric_id %}, account id {{ account.numeric_id }}{% endif %}.\n'  # noqa: E501
    'It is operated from inside a prison on an illicit mobile phone.\n'
    '\n'
    'Legal basis:\n'
    '{{ legal_basis }}\n'
    '\n'
    'Reason:\n'
    '{{ reason }}\n'
    '\n'
    'Addresses concerned:\n'
    '{% for url in urls %}\n'
    '- {{ url }}\n'
    '{% endfor %}\n'
    '\n'
    'Evidence ({{ evidence | length }} image{{ "s" if evidence | length != 1 }}). Display copies and a\n'  # noqa: E501
    'manifest giving the SHA-256 of every original are in the attached pack {{ pack.filename }}\n'
    '(SHA-256 {{ pack.sha256 }}).\n'
    '{% for item in evidence %}\n'
    '{{ item.number }}. {{ item.post_url or "post address not known" }}\n'
    '   posted {{ item.posted_at or "time not known" }}, SHA-256 {{ item.sha256 }}\n'
    '{% if item.frame_of %}\n'
    '   a frame at {{ item.frame_of.at }} of video {{ item.frame_of.video }}\n'
    '{% endif %}\n'
    '{% endfor %}\n'
    '{% if videos %}\n'
    '\n'
    'Videos ({{ videos | length }}). The videos themselves are not attached; the manifest gives the\n'  # noqa: E501
    'SHA-256 of each original as captured.\n'
    '{% for video in videos %}\n'
    '{{ video.number }}. {{ video.post_url or "post address not known" }}\n'
    '   posted {{ video.posted_at or "time not known" }}, {{ video.length }} long,\n'
    '   SHA-256 {{ video.sha256 }}\n'
    '{% endfor %}\n'
    '{% endif %}\n'
    '{% if notice_number > 1 %}\n'
    '\n'
    'This is reminder {{ notice_number }}; our first notice was sent on {{ first_sent_at }}.\n'
    '{% if platform_reference %}Your reference: {{ platform_reference }}.\n'
    '{% endif %}\n'
    '{% endif %}\n'
    '\n'
    '{{ good_faith_statement }}\n'
    '\n'
    'Contact: {{ contact }}\n'
    'Please reply quoting {{ reference }}.\n'
)


def _replace(new: str, old: str) -> None:
    op.get_bind().execute(
        sa.text("UPDATE platform_settings SET template = :new WHERE template = :old"),
        {"new": new, "old": old})


PER_IMAGE, IMAGES_CAP = 2, 20  # app/accounts/priority.py when this was written


def _recount() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT a.id, a.priority_factors, "
        "(SELECT count(*) FROM evidence_image e WHERE e.account_id = a.id "
        " AND e.image_id NOT IN (SELECT image_id FROM video_frame)), "
        "(SELECT count(DISTINCT v.video_id) FROM evidence_video v WHERE v.account_id = a.id) "
        "FROM account a WHERE a.id IN (SELECT account_id FROM evidence_video)")).all()
    for account_id, stored, photos, videos in rows:
        factors = json.loads(stored or "{}")
        count = int(photos) + int(videos)
        factors.pop("images", None)
        if count:
            factors["images"] = min(IMAGES_CAP, PER_IMAGE * count)
        conn.execute(sa.text(
            "UPDATE account SET image_count = :count, priority = :priority, "
            "priority_factors = :factors WHERE id = :id"),
            {"count": count, "priority": sum(factors.values()),
             "factors": json.dumps(factors, sort_keys=True), "id": account_id})


def upgrade() -> None:
    _replace(NEW_DEFAULT_TEMPLATE, OLD_DEFAULT_TEMPLATE)
    _recount()


def downgrade() -> None:
    _replace(OLD_DEFAULT_TEMPLATE, NEW_DEFAULT_TEMPLATE)
