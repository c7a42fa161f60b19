"""HammingIndex / DescriptorIndex answer exactly what a brute-force Python loop answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.matching.index import DescriptorIndex, HammingIndex

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def ham(a: int, b: int) -> int:
    return ((a ^ b) & (2**64 - 1)).bit_count()


def brute(items: dict[int, tuple[int, ...]], query: list, max_d: int, limit: int | None):
    hits = []
    for item_id, hashes in items.items():
        ds = [ham(h, q) for h, q in zip(hashes, query, strict=True) if q is not None]
        if min(ds) <= max_d:
            hits.append((min(ds), item_id))
    hits.sort()
    return [(i, d) for d, i in hits][:limit]


def near(base: int, rng: np.random.Generator) -> int:
    """A hash a few bits away from `base`, so small distances actually occur."""
    u = base & (2**64 - 1)
    for bit in rng.choice(64, size=int(rng.integers(0, 12)), replace=False):
        u ^= 1 << int(bit)
    return u - 2**64 if u >= 2**63 else u


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "remove", "query"]),
        st.lists(st.integers(0, 60), min_size=1, max_size=25, unique=True),
        st.integers(0, 2**32),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops, columns=st.integers(1, 3), seed_hash=INT64, max_d=st.integers(-1, 64),
       limit=st.one_of(st.none(), st.integers(1, 12)))
def test_hamming_index_matches_brute_force(ops, columns, seed_hash, max_d, limit):
    index = HammingIndex(columns)
    model: dict[int, tuple[int, ...]] = {}
    for op, ids, seed in ops:
        rng = np.random.default_rng(seed)
        if op == "add":
            rows = [tuple(near(seed_hash, rng) for _ in range(columns)) for _ in ids]
            index.add(ids, rows if columns > 1 else [r[0] for r in rows])
            model.update(zip(ids, rows, strict=True))
        elif op == "remove":
            assert index.remove(ids) == len(set(ids) & model.keys())
            for i in ids:
                model.pop(i, None)
        else:
            query = [near(seed_hash, rng) for _ in range(columns)]
            if columns > 1 and rng.random() < 0.5:
                query[int(rng.integers(columns))] = None
            expected = brute(model, query, max_d, limit) if max_d >= 0 else []
            assert index.query(query, max_d, limit) == expected
        assert len(index) == len(model)
        assert sorted(index.ids().tolist()) == sorted(model)


def test_compaction_after_many_removals_keeps_answers():
    rng = np.random.default_rng(1)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=5000, dtype=np.int64, endpoint=True)
    index = HammingIndex(1)
    index.add(np.arange(5000), hashes)
    assert index.remove(np.arange(0, 5000, 2)) == 2500  # triggers compaction (> 1/4 dead)
    assert len(index) == 2500 and index._dead == 0
    q = int(hashes[7])
    expected = sorted((ham(int(h), q), i) for i, h in enumerate(hashes.tolist()) if i % 2)[:20]
    assert index.query(q, 64, 20) == [(i, d) for d, i in expected]
    assert 8 not in index and 7 in index


def test_readding_an_id_replaces_it_and_scalar_query_uses_every_column():
    index = HammingIndex(2)
    index.add([5], [[0, -1]])
    index.add([5], [[0b1111, 0b1]])
    assert len(index) == 1
    assert index.query(0, 64) == [(5, 1)]  # min(popcount(0b1111), popcount(0b1))
    assert index.query([0, None], 64) == [(5, 4)]


def test_distance_counts_all_64_bits_of_signed_hashes():
    # np.bitwise_count on int64 counts |x|; the index must count the raw bits.
    index = HammingIndex(1)
    index.add([1, 2, 3], [-1, -(2**63), 2**63 - 1])
    assert index.query(0, 64) == [(2, 1), (3, 63), (1, 64)]
    assert index.query(-1, 64, 1) == [(1, 0)]


def test_bad_input_is_rejected():
    index = HammingIndex(2)
    with pytest.raises(ValueError):
        index.add([1, 1], [[0, 0], [0, 0]])
    with pytest.raises(ValueError):
        index.add([1], [0])
    with pytest.raises(ValueError):
        index.query([None, None])
    with pytest.raises(ValueError):
        index.query([0, 0], limit=0)
    assert HammingIndex(1).query(0, 64) == []


def brute_votes(lib: dict[int, np.ndarray], q: np.ndarray, ratio: float) -> list[tuple[int, int]]:
    out = []
    for item_id, desc in lib.items():
        real = [d for d in desc if d.any()]
        votes = 0
        for qd in q:
            if not qd.any():
                continue
            ds = sorted(int(np.unpackbits(qd ^ d).sum()) for d in real) + [512, 512]
            votes += ds[0] < ratio * ds[1]
        if votes:
            out.append((-votes, item_id))
    return [(i, -v) for v, i in sorted(out)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(1, 12), remove=st.lists(st.integers(0, 11)),
       limit=st.integers(1, 15))
def test_descriptor_index_matches_brute_force(seed, n, remove, limit):
    rng = np.random.default_rng(seed)
    k = 6
    base = rng.integers(0, 256, size=(k, 32), dtype=np.uint8)
    desc = np.where(rng.random((n, k, 32)) < 0.15,  # noisy copies of one set: real votes
                    rng.integers(0, 256, size=(n, k, 32)), base).astype(np.uint8)
    desc[rng.random((n, k)) < 0.2] = 0  # padding rows
    index = DescriptorIndex(keypoints=k, chunk=5)
    index.add(np.arange(n), desc)
    index.remove(remove)
    lib = {i: desc[i] for i in range(n) if i not in remove}
    q = base.copy()
    assert index.query(q, limit) == brute_votes(lib, q, index.ratio)[:limit]


def test_queries_from_several_threads_each_get_their_own_answer():
    # a web process answers uploads on several threads, each one's first stage querying the
    # same index: the scan's buffers must never carry one query's distances into another's
    import threading

    rng = np.random.default_rng(1)
    n = 300_000  # large enough that numpy's scan releases the GIL mid-query
    idx = HammingIndex(columns=3)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=(n, 3), dtype=np.int64, endpoint=True)
    idx.add(np.arange(1, n + 1), hashes)
    queries = [[int(x) for x in hashes[k]] for k in range(4)]
    expected = [idx.query(q, 3) for q in queries]
    assert expected == [[(k + 1, 0)] for k in range(4)]
    wrong: list[int] = []

    def ask(k: int) -> None:
        wrong.extend(k for _ in range(50) if idx.query(queries[k], 3) != expected[k])

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
