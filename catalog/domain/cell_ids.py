"""Cell ids: how a raw table (api/graphql/lean_json.RawTable) names its decisions, so that a
batch of them is one buffer numpy reads, with no Python object per decision.

An id is 4 bytes, little-endian: (cell << 1) | allowed, cell >= 1. A batch's ids joined
(b"".join) read as uint32 give the allowed count (the low bits) and the decision log's
counts (np.bincount, services/decision_log.py)."""

from __future__ import annotations

import struct

import numpy as np

_ID = struct.Struct("<I")
DTYPE = np.dtype("<u4")
WIDTH = DTYPE.itemsize


def make(cell: int, allowed: bool) -> bytes:
    return _ID.pack(cell << 1 | bool(allowed))


def cell_of(cell_id: int) -> int:
    """The cell of an id as numpy reads it (an int)."""
    return cell_id >> 1


def ids_of(joined: bytes) -> np.ndarray:
    """A batch's ids joined, as numbers."""
    return np.frombuffer(joined, dtype=DTYPE)


def allowed_in(ids: np.ndarray) -> int:
    return int(np.count_nonzero(ids & 1))
