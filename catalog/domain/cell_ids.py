"""Cell ids: how a raw table (api/graphql/lean_json.RawTable) names its decisions, so that a
batch of them packs into one buffer numpy reads, with no Python object per decision.

An id is the int (cell << 1) | allowed, cell >= 1, always the same int object (from one
pool, made in runs): a dict or list lookup by it finds it by identity, and a batch's ids lie
close together in memory. pack() writes a batch's ids as uint32 in one C call; read back
(ids_of) they give the allowed count (the low bits) and the decision log's counts
(np.bincount, services/decision_log.py)."""

from __future__ import annotations

import struct

import numpy as np

DTYPE = np.dtype("<u4")
_POOL: list[int] = []


def make(cell: int, allowed: bool) -> int:
    value = cell << 1 | bool(allowed)
    if value >= len(_POOL):  # bounded: tables are (lean_json.MEMO_ENTRIES)
        _POOL.extend(range(len(_POOL), value + 8192))
    return _POOL[value]


def cell_of(cell_id: int) -> int:
    return cell_id >> 1


def pack(ids: list[int]) -> bytes:
    return struct.pack(f"<{len(ids)}I", *ids)


def ids_of(packed: bytes) -> np.ndarray:
    return np.frombuffer(packed, dtype=DTYPE)


def count(packed: bytes) -> int:
    return len(packed) // DTYPE.itemsize


def allowed_in(ids: np.ndarray) -> int:
    return int(np.count_nonzero(ids & 1))
