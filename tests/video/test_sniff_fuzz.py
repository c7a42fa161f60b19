"""Whatever bytes arrive, the pure readers answer or refuse; nothing else escapes."""

import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from app.video.animation import Damaged, gif_facts, webp_facts
from app.video.boxes import declared_seconds
from app.video.refusal import Refusal
from app.video.sniff import identify
from tests.video import clips

SEEDS = [clips.small_clip(seconds=0.5), clips.small_clip(seconds=0.5, fmt="webm",
                                                         codec="libvpx"), clips.gif(3)]


def _mutated(seed: int, cuts: list[int], flips: list[tuple[int, int]]) -> bytes:
    data = bytearray(SEEDS[seed % len(SEEDS)])
    for at, value in flips:
        data[at % len(data)] = value
    end = len(data) if not cuts else cuts[0] % (len(data) + 1)
    return bytes(data[:end])


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=256),
    st.builds(_mutated, st.integers(0, 2), st.lists(st.integers(0, 10**6), max_size=1),
              st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8)),
))
def test_sniffing_and_header_reading_never_raise_anything_else(data):
    with contextlib.suppress(Refusal):
        identify(data, "upload.bin")
    for reader in (gif_facts, webp_facts):
        with contextlib.suppress(Damaged):
            reader(data, stop_after=1000)
    declared_seconds(io.BytesIO(data))
