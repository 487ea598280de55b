"""Layered (catalog/domain/layered.py): a snapshot map that answers as a plain dict would, before
and after folds, while older snapshots stay as they were."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain import layered
from catalog.domain.layered import Layered

writes = st.lists(st.dictionaries(st.integers(0, 60), st.one_of(st.none(), st.integers()),
                                  max_size=12), max_size=40)


@settings(max_examples=200, deadline=None)
@given(start=st.dictionaries(st.integers(0, 60), st.integers(), max_size=20), changes=writes)
def test_every_snapshot_answers_as_a_dict(start, changes):
    original = layered.MIN_OVERLAY
    layered.MIN_OVERLAY = 8  # fold often
    try:
        snapshots = [(Layered(dict(start)), dict(start))]
        for change in changes:
            m, d = snapshots[-1]
            snapshots.append((m.evolve(change), {**d, **change}))
        for m, d in snapshots:  # older ones too: a write never changes a snapshot
            assert len(m) == len(d)
            assert dict(m.items()) == d and m.flat() == d
            assert sorted(m) == sorted(d)
            for k in range(62):
                assert (k in m) == (k in d)
                assert m.get(k, "missing") == d.get(k, "missing")
    finally:
        layered.MIN_OVERLAY = original
