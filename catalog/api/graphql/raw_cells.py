"""A pipeline's checkMany request list -> its cells' ids in one pass of numpy (lean_raw.py):
no Python object per request.

Splitting the list into 1,000 bytes objects and looking each up in a dict cost ~200 µs of a
~400 µs batch in the server, most of it waiting on memory: the dict's slot and entry, the
key object compared, the id's int object, the answers list, five cache lines a request. Here
the list, written by a JSON encoder, is read as what it is, '[' + tokens joined by a gap +
']', each token '{"field":"F","purpose":"P","channel":"C"}' (or the spaced style,
'{"field": "F", ...}' joined by ', '):

- tokens end at the list's '}' (flatnonzero), and the gaps between them are checked;
- each token's bytes are read as one row of `width` bytes (a gather of overlapping
  fixed-size items from the buffer), zero past the token, its length in the last byte;
- rows are hashed by a multilinear sum with random odd multipliers drawn at start (one
  matrix-vector product; its high bits depend on every byte, and only they are used);
- the hash's high bits pick two slots of a cuckoo table kept at most a third full (a cell
  sits in one of its two); a slot holds the hash's high 40 bits and the cell's id;
- every id found is then checked byte for byte: the token's row against the row kept for
  that id (where it differs, the other slot's id is tried). So the hash only finds; it
  never decides which cell answers.

Why a list that passes is exactly those requests: a kept token is the JSON text of one
request object, as an encoder wrote it, and holds one '}', its last byte; '[' + such tokens
joined by ',' or ', ' + ']' is JSON that reads only one way. Any doubt (a '}' inside a name
cuts a token wrong, a token of MAX_WIDTH bytes or more, a token not kept yet, a third cell
with one full hash) and lookup() returns None: the caller splits the list and uses its dict
(lean_raw.py), which also says which tokens to add here.
"""

from __future__ import annotations

import secrets

import numpy as np

MAX_WIDTH = 256  # tokens of this length or longer are left to the dict (lengths fit a byte)
_ID_BITS = 24  # ids below 2**24: a raw table holds at most lean_json.MEMO_ENTRIES
_ID_MASK = np.uint64((1 << _ID_BITS) - 1)
_ID_BITS_MASK = (1 << _ID_BITS) - 1
_MAX_KICKS = 500
_ONE_ID = np.uint64(1 << _ID_BITS)  # a slot ^ hash below it: the slot holds the hash's bits
_CLOSE, _OPEN_LIST, _CLOSE_LIST = 125, 91, 93  # '}', '[', ']'


class RawCells:
    """Tokens -> cell ids for one raw table. Only added to, on the event loop's thread."""

    __slots__ = ("width", "_mul", "_rows", "_lengths", "_hashes", "_slots", "_bits",
                 "_masks", "count")

    def __init__(self, width: int = 64) -> None:
        self.width = width  # bytes per row: a multiple of 32, more than any token kept
        rng = np.random.default_rng(secrets.randbits(128))
        self._mul = rng.integers(1, 2**63, size=MAX_WIDTH // 8, dtype=np.uint64) | np.uint64(1)
        self._rows = np.zeros((1024, width // 8), np.uint64)  # by id; row 0 matches nothing
        self._lengths = np.zeros(1024, np.int64)  # by id; 0: not kept
        self._hashes = np.zeros(1024, np.uint64)
        self._slots = np.zeros(1024, np.uint64)  # the hash's high bits | the id; 0: empty
        self._bits = 10  # 2**bits slots
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
        if lengths.min() < 1 or lengths.max() >= width:
            return None
        rows = _items(buf, width)[starts]
        words = rows.view(np.uint64).reshape(len(starts), width // 8)
        words &= _items(self._masks, width)[lengths].view(np.uint64).reshape(words.shape)
        rows.view(np.uint8).reshape(len(starts), width)[:, -1] = lengths
        h = words @ self._mul[:width // 8]
        first, second = self._pair(h)
        one, two = self._slots[first], self._slots[second]
        chosen = np.where((one ^ h) < _ONE_ID, one, two)  # the slot holding h's high bits
        found = chosen & _ID_MASK
        wrong = self._wrong(found, words)
        if wrong is not None:  # a token not kept, or kept in its other slot
            found[wrong] = (one ^ two ^ chosen)[wrong] & _ID_MASK
            if self._wrong(found[wrong], words[wrong]) is not None:
                return None
        return found.astype(np.uint32)

    def _wrong(self, found: np.ndarray, words: np.ndarray) -> np.ndarray | None:
        """Where the ids found do not hold these rows, or None when all do (an empty slot
        gives id 0, whose row matches nothing: its length byte is 0)."""
        kept = _items(self._rows, self.width)[found].view(np.uint64).reshape(words.shape)
        if (kept == words).all():
            return None  # the common case, tested without a per-row reduction
        return np.flatnonzero((kept != words).any(axis=1))

    def add(self, tokens: list[bytes], ids: list[int]) -> None:
        """Keep these tokens (a new cell each) under their ids; tokens of MAX_WIDTH bytes
        or more, or holding a '}' of a name (never found by lookup), are left out."""
        pairs = [(t, i) for t, i in zip(tokens, ids, strict=True)
                 if len(t) < MAX_WIDTH and t.count(b"}") == 1]
        if not pairs:
            return
        longest = max(len(t) for t, _ in pairs)
        if longest >= self.width:
            self._widen(longest // 32 * 32 + 32)
        top = max(i for _, i in pairs)
        if top >= 1 << _ID_BITS:  # pragma: no cover  (MEMO_ENTRIES keeps ids far below)
            raise ValueError("raw table ids must stay below 2**24")
        if top >= len(self._lengths):
            self._grow_rows(top + 1)
        width = self.width
        data = b"".join(t.ljust(width - 1, b"\0") + bytes((len(t),)) for t, _ in pairs)
        rows = np.frombuffer(data, np.uint64).reshape(len(pairs), width // 8)
        at = np.array([i for _, i in pairs], np.int64)
        self._rows[at] = rows
        self._lengths[at] = [len(t) for t, _ in pairs]
        hashes = self._hashes[at] = rows @ self._mul[:width // 8]
        self.count += len(pairs)
        if self.count * 3 > len(self._slots):  # kept at most a third full
            while self.count * 3 > 1 << self._bits:
                self._bits += 1
            self._rehash()
        else:
            self._place_all(at, hashes)

    def _pair(self, h):
        """The two slots a hash may sit in (cuckoo hashing: one or the other, never both),
        from its high bits."""
        bits = self._bits
        first = h >> np.uint64(64 - bits)
        mask = np.uint64((1 << bits) - 1)
        return first, first ^ ((h >> np.uint64(64 - 2 * bits)) & mask | np.uint64(1))

    def _place_all(self, cells: np.ndarray, hashes: np.ndarray) -> None:
        """Place cells: into free first slots, then free second slots, one cell per slot,
        in numpy; the few left (their two slots taken) by cuckoo moves (_place)."""
        values = (hashes & ~_ID_MASK) | cells.astype(np.uint64)
        for choice in (0, 1):
            if not len(cells):
                return
            at = self._pair(hashes)[choice]
            free = np.flatnonzero(self._slots[at] == 0)
            taken = free[np.unique(at[free], return_index=True)[1]]  # one cell a slot
            self._slots[at[taken]] = values[taken]
            left = np.ones(len(cells), bool)
            left[taken] = False
            cells, hashes, values = cells[left], hashes[left], values[left]
        for cell, h in zip(cells.tolist(), hashes.tolist(), strict=True):
            self._place(cell, h)

    def _slots_of(self, h: int) -> tuple[int, int]:
        """_pair for one hash, in Python ints (numpy scalars cost a microsecond each)."""
        bits = self._bits
        first = h >> (64 - bits)
        return first, first ^ ((h >> (64 - 2 * bits)) & ((1 << bits) - 1) | 1)

    def _place(self, cell: int, h: int) -> None:
        """Cuckoo insertion: take one of the two slots, moving who sits there to its other
        slot, and so on. After MAX_KICKS moves (at most a third full, only three cells with
        one hash do that) the cell still out is left to the dict: lookups never find it."""
        slots, hashes = self._slots, self._hashes
        value, at = (h & ~_ID_BITS_MASK) | cell, self._slots_of(h)[0]
        for _ in range(_MAX_KICKS):
            value, slots[at] = int(slots[at]), value
            if value == 0:
                return
            held = value & _ID_BITS_MASK
            one, two = self._slots_of(int(hashes[held]))
            at = two if at == one else one
        held = value & _ID_BITS_MASK
        self._lengths[held] = 0
        self._rows[held] = 0
        self.count -= 1

    def _rehash(self) -> None:
        self._slots = np.zeros(1 << self._bits, np.uint64)
        cells = np.flatnonzero(self._lengths)
        self._place_all(cells, self._hashes[cells])

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
        """Longer rows: the kept ones copied, their length byte moved to the new last byte,
        hashed again and placed again (rare: a longer token than any before)."""
        old = self.width
        rows = np.zeros((len(self._rows), width // 8), np.uint64)
        rows[:, :old // 8] = self._rows
        as_bytes = rows.view(np.uint8)
        as_bytes[:, old - 1] = 0
        as_bytes[:, width - 1] = self._lengths
        self._rows, self.width, self._masks = rows, width, _masks(width)
        self._hashes = rows @ self._mul[:width // 8]
        self._rehash()


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
