"""Cell ids: how a raw table (api/graphql/lean_json.RawTable) names its decisions, so that a
batch of them packs into one buffer numpy reads, with no Python object per decision.

An id is the cell's number (>= 1), always the same int object, from one pool made in runs:
a list lookup by it reads a few neighbouring cache lines, not an object anywhere on the heap.
pack() writes a batch's ids as uint32 in one C call (and finds a miss, None, the same way);
read back (ids_of) they give the allowed count (RawTable.allowed) and the decision log's
counts (np.bincount, services/decision_log.py)."""

from __future__ import annotations

import struct

import numpy as np

DTYPE = np.dtype("<u4")
_POOL: list[int] = []


def make(cell: int) -> int:
    if cell >= len(_POOL):  # bounded: so are the tables (lean_json.MEMO_ENTRIES)
        _POOL.extend(range(len(_POOL), cell + 8192))
    return _POOL[cell]


def pack(ids: list) -> bytes:
    """The ids as uint32; struct.error when one is not an id (a miss: None)."""
    return struct.pack(f"<{len(ids)}I", *ids)


def ids_of(packed: bytes) -> np.ndarray:
    return np.frombuffer(packed, dtype=DTYPE)


def count(packed: bytes) -> int:
    return len(packed) // DTYPE.itemsize
