"""Backup parts: chunked AES-256-GCM that finds any change, reordering or cut."""

from __future__ import annotations

import os

import pytest

from app.backup import stream
from app.backup.stream import BackupBroken, PartReader, PartWriter, read_part

KEY, OTHER = b"k" * 32, b"o" * 32


def _part(tmp_path, data: bytes, name: str = "database"):
    writer = PartWriter(tmp_path / "p.part", KEY, name)
    for at in range(0, len(data), 7000):  # written in pieces, as a copy loop does
        writer.write(data[at:at + 7000])
    writer.close()
    return tmp_path / "p.part", writer


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK", 4096)  # many chunks from little data


@pytest.mark.parametrize("size", [0, 1, 4096, 4097, 3 * 4096, 50_000])
def test_a_part_reads_back_exactly(tmp_path, size):
    data = os.urandom(size)
    path, writer = _part(tmp_path, data)
    assert b"".join(read_part(path, KEY, "database")) == data
    assert writer.plain_bytes == size
    reader = PartReader(path, KEY, "database")
    assert reader.read(10) + reader.read(5000) + reader.read() == data
    if size >= 64:
        assert data[:64] not in path.read_bytes()  # nothing in the clear


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    head, at, chunks = blob[:len(stream.MAGIC) + stream.SALT_BYTES], len(stream.MAGIC) + 16, []
    while at < len(blob):
        size = int.from_bytes(blob[at:at + 4], "big")
        chunks.append(blob[at:at + 4 + size])
        at += 4 + size
    return head, chunks


def test_cut_reordered_flipped_renamed_or_wrong_key_is_refused(tmp_path):
    path, _ = _part(tmp_path, os.urandom(20_000))
    blob = path.read_bytes()
    head, chunks = _chunks(blob)
    assert len(chunks) == 5

    def refused(data: bytes, name: str = "database", key: bytes = KEY) -> str:
        path.write_bytes(data)
        with pytest.raises(BackupBroken) as err:
            b"".join(read_part(path, key, name))
        return str(err.value)

    assert "cut short (no last chunk)" in refused(head + b"".join(chunks[:3]))
    assert "cut short in chunk 4" in refused(blob[:-10])
    assert "chunk 1 fails authentication" in refused(head + chunks[0] + chunks[2] + chunks[1]
                                                     + b"".join(chunks[3:]))
    flipped = bytearray(blob)
    flipped[len(head) + 100] ^= 1
    assert "chunk 0 fails authentication" in refused(bytes(flipped))
    assert "fails authentication" in refused(blob, name="files")  # swapped with another part
    assert "fails authentication" in refused(blob, key=OTHER)
    assert "data after its last chunk" in refused(blob + chunks[0])
    assert "not a Cellwatch backup part" in refused(b"PK\x03\x04" + blob[4:])
