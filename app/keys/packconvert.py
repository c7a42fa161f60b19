"""Evidence packs made before per-pack keys: each given a key of its own and sealed again.

Run by `cellwatch keys rotate` and by `make run` (`cellwatch keys convert-packs`); does nothing
once every pack has its own key. For each pack sealed the old way (a key derived from the
master key, which no erasure can destroy): its key row is committed first, then the file is
sealed again under it (atomic rename). Killed in between, the file still opens the old way
and the next run seals it again, so a pack never opens under nothing. A pack holding a
picture already erased or withdrawn is not converted but erased: file deleted, an erased key
row saying why.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.audit.service import Actor, record
from app.db import unit_of_work, utcnow
from app.evidence import packkeys, storage
from app.evidence.models import PackKey
from app.keys.rotation import pack_keys
from app.settings import Settings
from app.takedowns import packfiles, packs
from app.txfiles import delete_when_committed


def _key_for(factory: sessionmaker[Session], settings: Settings, pack_key: str,
             manifest: dict[str, object]) -> tuple[bytes, str] | None:
    """The pack's own key, made now if it has none (None: erased instead, or meanwhile)."""
    try:
        with unit_of_work(factory) as session:
            own = packkeys.key_of(session, settings, pack_key)
            if own is not None:
                return own
            gone = packs.withdrawn_in(session, manifest)
            if gone:
                session.add(PackKey(pack_key=pack_key, wrapped_key=b"", erased_at=utcnow(),
                                    erasure_reason=f"erased with image "
                                    f"{', '.join(map(str, gone))} (erased before the pack had "
                                    "a key of its own)"))
                delete_when_committed(session, packfiles.path_for(settings, pack_key))
                return None
            key = packkeys.new_key(session, settings, pack_key, packs.held_in(manifest))
            return key, settings.master_key_id
    except packkeys.PackErased:
        return None
    except IntegrityError:  # another runner gave it a key first: take that one
        with factory() as session:
            try:
                return packkeys.key_of(session, settings, pack_key)
            except packkeys.PackErased:
                return None


def convert_packs(factory: sessionmaker[Session], settings: Settings, actor: Actor) -> int:
    """Give every pack sealed the old way its own key and seal it again; returns how many."""
    with factory() as session:
        keys = sorted(pack_keys(session))
    converted = []
    for pack_key in keys:
        with factory() as session:
            try:
                data, key_id = packfiles.read_with_id(session, settings, pack_key)
            except packfiles.PackMissing:
                continue  # erased, or gone: nothing to seal again
        if key_id != packfiles.LEGACY:
            continue
        own = _key_for(factory, settings, pack_key, packs.manifest_of(data))
        if own is None:
            continue
        path = packfiles.path_for(settings, pack_key)
        storage.write_atomic(path, packfiles.seal(own[0], pack_key, data))
        with factory() as session:
            row = session.get(PackKey, pack_key)
            if row is None or row.erased_at is not None:  # erased while it was sealed again
                path.unlink(missing_ok=True)
                continue
        converted.append(pack_key)
    if converted:
        with unit_of_work(factory) as session:
            record(session, actor, "takedowns.packs.converted", object_type="pack",
                   object_ids=converted, details={"to": settings.master_key_id})
    return len(converted)
