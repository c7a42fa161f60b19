"""DescriptorIndex beyond `ann_from` images: the approximate nearest-neighbour index keeps the
contract of the exact scan (add / replace / remove / ids / len) and finds what it finds."""

from __future__ import annotations

import numpy as np
import pytest

from app.evidence.hashing import analyse_image, prefilter_descriptors
from app.matching.index import DescriptorIndex
from tests.matching.scenes import jpeg, other_viewpoint, repost, room

K = 48  # not the shipped PREFILTER_KEYPOINTS: the index must not depend on it


def noisy(desc: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(desc, axis=-1)
    return np.packbits(bits ^ (rng.random(bits.shape) < p), axis=-1)


@pytest.fixture(scope="module")
def library() -> np.ndarray:
    rng = np.random.default_rng(7)
    lib = rng.integers(0, 256, size=(3000, K, 32), dtype=np.uint8)
    lib[:, -5:] = 0  # padding rows never vote and are never stored
    return lib


def ann(lib: np.ndarray, **options) -> DescriptorIndex:
    index = DescriptorIndex(keypoints=K, ann_from=500, **options)
    for lo in range(0, len(lib), 700):  # in batches, as the engine loads them
        index.add(np.arange(lo, min(lo + 700, len(lib))) + 1000, lib[lo:lo + 700])
    return index


def test_switches_to_the_ann_index_and_keeps_the_contract(library):
    rng = np.random.default_rng(1)
    index = ann(library)
    assert index.approximate and len(index) == 3000
    assert sorted(index.ids().tolist()) == list(range(1000, 4000))
    q = noisy(library[10], 0.08, rng)
    best = index.query(q, 5)
    assert best[0][0] == 1010 and best[0][1] >= 30  # the copy wins by far
    assert all(v < 5 for _, v in best[1:])
    assert len(index.query(q, 1)) == 1

    # re-adding an id replaces its descriptors: the old ones no longer vote for it
    index.add([1010], library[20:21])
    assert len(index) == 3000
    assert 1010 not in [i for i, v in index.query(q, 5) if v >= 5]
    assert index.query(noisy(library[20], 0.08, rng), 2)[0][0] in (1010, 1020)
    assert {i for i, v in index.query(noisy(library[20], 0.08, rng), 2) if v >= 30} == {1010, 1020}

    # removal: gone from ids, len and every answer; unknown ids are ignored
    assert index.remove([1010, 1020, 99]) == 2
    assert len(index) == 2998 and 1010 not in index and 1020 not in index
    assert all(i not in (1010, 1020) for i, _ in index.query(noisy(library[20], 0.05, rng), 10))
    # padding: a query of zeros has no votes
    assert index.query(np.zeros((K, 32), np.uint8), 5) == []
    with pytest.raises(ValueError):
        index.query(np.zeros((K + 1, 32), np.uint8), 5)


def test_the_faiss_index_taken_out_and_put_back_gives_the_same_answers(library):
    rng = np.random.default_rng(2)
    index = ann(library)
    index.remove([1005])
    raw = index.ann_index()
    assert raw is not None
    back = DescriptorIndex.from_ann(raw, K, ann_from=500)
    assert len(back) == len(index) and sorted(back.ids()) == sorted(index.ids())
    for t in (3, 40, 2999):
        q = noisy(library[t], 0.1, rng)
        assert back.query(q, 8) == index.query(q, 8)
    with pytest.raises(ValueError):
        DescriptorIndex.from_ann(object(), K)
    assert DescriptorIndex(keypoints=K).ann_index() is None  # small: nothing worth keeping


def test_shortlist_recall_on_real_features_is_not_below_the_exact_scan():
    """Rendered rooms, real ORB features: each room's repost and other viewpoint must find the
    room in the top 8 as often with the ANN index as with the exact scan (1,000 distractors)."""
    rng = np.random.default_rng(3)
    rooms = [room(500 + i) for i in range(24)]
    refs = np.stack([prefilter_descriptors(analyse_image(jpeg(r)).features) for r in rooms])
    k = refs.shape[1]
    # distractors: 40 other rooms, 25 slightly noised copies each (real ORB, not noise)
    others = np.stack([prefilter_descriptors(analyse_image(jpeg(room(900 + i))).features)
                       for i in range(40)])
    distract = noisy(others[np.arange(1000) % 40], 0.03, rng)
    exact = DescriptorIndex(keypoints=k, ann_from=10**9)
    approx = DescriptorIndex(keypoints=k, ann_from=100)
    for index in (exact, approx):
        index.add(np.arange(1000) + 10_000, distract)
        index.add(np.arange(len(refs)), refs)
    assert approx.approximate and not exact.approximate
    found = {"exact": 0, "ann": 0}
    first = {"exact": 0, "ann": 0}
    for i, r in enumerate(rooms):
        for data in (repost(r), other_viewpoint(r)):
            q = prefilter_descriptors(analyse_image(data).features)
            e, a = exact.query(q, 8), approx.query(q, 8)
            found["exact"] += i in [x for x, _ in e]
            found["ann"] += i in [x for x, _ in a]
            first["exact"] += bool(e) and e[0][0] == i
            first["ann"] += bool(a) and a[0][0] == i
    assert found["exact"] >= 40  # the scan itself finds these rooms (48 queries)
    assert found["ann"] >= found["exact"]
    assert first["ann"] >= first["exact"]  # ranked first as often, too


def test_a_long_query_split_over_two_threads_answers_as_one_search(monkeypatch):
    from app.matching import ann, parallel

    monkeypatch.setattr(parallel, "THREADS", 2)  # as on any host of two cores or more
    rng = np.random.default_rng(8)
    ivf = ann.BinaryIVF()
    ivf.add(rng.integers(0, 256, (20_000, 32), dtype=np.uint8),
            np.repeat(np.arange(2_500), 8).astype(np.int64))
    queries = rng.integers(0, 256, (64, 32), dtype=np.uint8)
    split = ivf.search(queries, 8)
    monkeypatch.setattr(ann, "SPLIT_FROM", 10 ** 9)
    whole = ivf.search(queries, 8)
    rows = [ivf.search(q[None], 8) for q in queries]  # and row by row
    by_row = (np.concatenate([d for d, _ in rows]), np.concatenate([i for _, i in rows]))
    for got in (split, by_row):
        assert np.array_equal(got[0], whole[0]) and np.array_equal(got[1], whole[1])
