"""A pipeline's checkMany request list -> its cells' ids in one pass of numpy (lean_raw.py):
no Python object per request.

Splitting the list into 1,000 bytes objects and looking each up in a dict cost ~200 µs of a
~400 µs batch in the server, most of it waiting on memory: the dict's slot and entry, the
key object compared, the id's int object, the answers list, five cache lines a request. Here
the list, written by a JSON encoder, is read as what it is, '[' + tokens joined by a gap +
']', each token '{"field":"F","purpose":"P","channel":"C"}' (or the spaced style,
'{"field": "F", ...}' joined by ', '):

- tokens end at the list's '}' (flatnonzero), and the gaps between them are checked;
- each token's bytes are read as one zero-padded row of `width` bytes (a gather of
  overlapping fixed-size items from the buffer) and hashed: a multilinear hash with random
  odd multipliers drawn at start, then mixed;
- the hash picks two buckets of 8 slots (64 bytes, one cache line each) in a table kept at
  most a third full; a slot holds the hash's high 40 bits and a cell id;
- every id found is then checked byte for byte: the token's row and length against the
  row kept for that id. So the hash only finds; it never decides which cell answers.

Any doubt (a '}' inside a name cuts a token wrong, a token longer than the width or not
kept yet, two hits for one token) and lookup() returns None: the caller splits the list
and uses its dict (lean_raw.py), which also says which tokens to add here.
"""

from __future__ import annotations

import secrets

import numpy as np

MAX_WIDTH = 256  # longer tokens are left to the dict
_ID_BITS = 24  # ids below 2**24: a raw table holds at most lean_json.MEMO_ENTRIES
_ID_MASK = np.uint64((1 << _ID_BITS) - 1)
_ID_BITS_MASK = (1 << _ID_BITS) - 1
_MAX_KICKS = 500
_ONE_ID = np.uint64(1 << _ID_BITS)  # a slot ^ hash below it: the slot holds the hash's bits
_MIX = np.uint64(0x9E3779B97F4A7C15)
_CLOSE, _OPEN_LIST, _CLOSE_LIST = 125, 91, 93  # '}', '[', ']'


class RawCells:
    """Tokens -> cell ids for one raw table. Only added to, on the event loop's thread."""

    __slots__ = ("width", "_mul", "_rows", "_lengths", "_hashes", "_slots", "_masks",
                 "count")

    def __init__(self, width: int = 64) -> None:
        self.width = width  # bytes per row: a multiple of 8
        rng = np.random.default_rng(secrets.randbits(128))
        self._mul = rng.integers(1, 2**63, size=MAX_WIDTH // 8, dtype=np.uint64) | np.uint64(1)
        self._rows = np.zeros((1024, width // 8), np.uint64)  # by id; row 0 matches nothing
        self._lengths = np.zeros(1024, np.int64)
        self._hashes = np.zeros(1024, np.uint64)
        self._slots = np.zeros(1024, np.uint64)  # the hash's high bits | the id; 0: empty
        self._masks = _masks(width)
        self.count = 0  # ids kept

    def lookup(self, listed: bytes, gap: bytes) -> np.ndarray | None:
        """The ids (uint32) of the list's tokens, in order, or None (see the module)."""
        n, width = len(listed), self.width
        if n < 4 or listed[0] != _OPEN_LIST or listed[-1] != _CLOSE_LIST or not self.count:
            return None
        buf = np.empty(n + width, np.uint8)  # padded: every token's row can be read
        buf[:n] = np.frombuffer(listed, np.uint8)
        buf[n:] = 0
        ends = np.flatnonzero(buf[:n] == _CLOSE) + 1
        if ends[-1] != n - 1:
            return None
        starts = np.empty_like(ends)
        starts[0] = 1
        starts[1:] = ends[:-1] + len(gap)
        for k, byte in enumerate(gap):
            if not (buf[ends[:-1] + k] == byte).all():
                return None
        lengths = ends - starts
        if lengths.min() < 1 or lengths.max() > width:
            return None
        rows = _items(buf, width)[starts].view(np.uint64).reshape(len(starts), width // 8)
        rows &= _items(self._masks, width)[lengths].view(np.uint64).reshape(rows.shape)
        found, other = self._find(self._hash(rows, lengths))
        wrong = self._wrong(found, rows, lengths)
        if wrong is not None:  # a token not kept, or kept in its other slot (see _find)
            found[wrong] = other[wrong]
            if self._wrong(found[wrong], rows[wrong], lengths[wrong]) is not None:
                return None
        return found.astype(np.uint32)

    def _wrong(self, found: np.ndarray, rows: np.ndarray,
               lengths: np.ndarray) -> np.ndarray | None:
        """Where the ids found do not hold these rows, or None when all do."""
        kept = _items(self._rows, self.width)[found].view(np.uint64).reshape(rows.shape)
        if (self._lengths[found] == lengths).all() and (kept == rows).all():
            return None  # the common case, tested without a per-row reduction
        return np.flatnonzero((self._lengths[found] != lengths) | (kept != rows).any(axis=1))

    def add(self, tokens: list[bytes], ids: list[int]) -> None:
        """Keep these tokens (a new cell each) under their ids; tokens longer than
        MAX_WIDTH or holding a '}' of a name (never found by lookup) are left out."""
        pairs = [(t, i) for t, i in zip(tokens, ids, strict=True)
                 if len(t) <= MAX_WIDTH and t.count(b"}") == 1]
        if not pairs:
            return
        longest = max(len(t) for t, _ in pairs)
        if longest > self.width:
            self._widen(-(-longest // 32) * 32)
        top = max(i for _, i in pairs)
        if top >= 1 << _ID_BITS:  # pragma: no cover  (MEMO_ENTRIES keeps ids far below)
            raise ValueError("raw table ids must stay below 2**24")
        if top >= len(self._lengths):
            self._grow_rows(top + 1)
        width = self.width
        data = b"".join(t.ljust(width, b"\0") for t, _ in pairs)
        rows = np.frombuffer(data, np.uint64).reshape(len(pairs), width // 8)
        lengths = np.array([len(t) for t, _ in pairs], np.int64)
        at = np.array([i for _, i in pairs], np.int64)
        self._rows[at] = rows
        self._lengths[at] = lengths
        hashes = self._hash(rows, lengths)
        self._hashes[at] = hashes
        self.count += len(pairs)
        if self.count * 3 > len(self._slots):  # kept at most a third full
            size = len(self._slots)
            while self.count * 3 > size:
                size *= 2
            self._slots = np.zeros(size, np.uint64)
            at = np.flatnonzero(self._lengths)
            hashes = self._hashes[at]
        for cell, h in zip(at.tolist(), hashes.tolist(), strict=True):
            self._place(cell, h)

    def _hash(self, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        h = rows @ self._mul[:rows.shape[1]]
        h ^= lengths.view(np.uint64)
        h ^= h >> np.uint64(31)
        h *= _MIX
        h ^= h >> np.uint64(29)
        return h

    def _pair(self, h):
        """The two slots a hash may sit in (cuckoo hashing: one or the other, never both)."""
        mask = np.uint64(len(self._slots) - 1)
        first = h & mask
        return first, first ^ ((h >> np.uint64(32)) & mask | np.uint64(1))  # never the same

    def _find(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each hash's id: the one of its two slots holding the hash's high bits, and the
        other slot's id. The caller checks the first by its row and where wrong takes the
        other (two cells with the same hash sit one in each); a token not kept gets ids
        whose rows tell (an empty slot gives 0, and row 0 matches nothing)."""
        first, second = self._pair(h)
        one, two = self._slots[first], self._slots[second]
        mine = (one ^ h) < _ONE_ID
        found = (np.where(mine, one, two) & _ID_MASK).astype(np.intp)
        other = (np.where(mine, two, one) & _ID_MASK).astype(np.intp)
        return found, other

    def _place(self, cell: int, h: int) -> None:
        """Cuckoo insertion: take one of the two slots, moving who sits there to its other
        slot, and so on. After MAX_KICKS moves (at most a third full, only three cells with
        one hash do that) the cell still out is left to the dict: lookups never find it."""
        slots, hashes = self._slots, self._hashes
        value, at = (h & ~_ID_BITS_MASK) | cell, int(self._pair(np.uint64(h))[0])
        for _ in range(_MAX_KICKS):
            value, slots[at] = int(slots[at]), value
            if value == 0:
                return
            held = value & _ID_BITS_MASK
            one, two = (int(x) for x in self._pair(hashes[held]))
            at = two if at == one else one
        held = value & _ID_BITS_MASK
        self._lengths[held] = 0
        self._rows[held] = 0
        self.count -= 1

    def _grow_rows(self, need: int) -> None:
        size = max(need, 2 * len(self._lengths))
        rows = np.zeros((size, self.width // 8), np.uint64)
        rows[:len(self._rows)] = self._rows
        self._rows = rows
        for name in ("_lengths", "_hashes"):
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)

    def _widen(self, width: int) -> None:
        """Longer rows: the kept ones padded with zeros, which leaves their hashes as they
        were (zero words add nothing to the multilinear sum)."""
        rows = np.zeros((len(self._rows), width // 8), np.uint64)
        rows[:, :self._rows.shape[1]] = self._rows
        self._rows, self.width, self._masks = rows, width, _masks(width)


def _items(array: np.ndarray, size: int) -> np.ndarray:
    """The array's bytes as items of `size` bytes starting at every multiple of its stride
    (for a uint8 buffer: at every byte, overlapping), so fancy indexing copies whole rows."""
    flat = array.reshape(-1).view(np.uint8)
    step = size if array.ndim > 1 else 1
    count = (len(flat) - size) // step + 1
    return np.ndarray(shape=(count,), dtype=f"V{size}", buffer=flat, strides=(step,))


def _masks(width: int) -> np.ndarray:
    """Row k keeps a row's first k bytes."""
    out = np.zeros((width + 1, width), np.uint8)
    out[np.tril_indices(width + 1, -1, width)] = 0xFF
    return out
