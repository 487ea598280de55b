"""The decision log (docs/semantics.md §10): every decision `check` and `checkMany` answer over the
API, counted per (minute, caller, field, purpose, channel, allowed) in memory on each worker and
flushed to the database in batches by a background thread: never a write on the request path.

A single check costs the request path one append of (caller, decision) to its minute's queue
and nothing more: no lock, no dictionary, no hashing. The background thread counts the queues
every second (DRAIN_SECONDS) in C-level loops. Counting on the request path (a locked update
of a dictionary of 5,000 decisions) measured 0.7 µs in a tight loop but ~4 µs of server CPU per
check under load: its dictionaries are cold in the caches by the time the next request comes,
after the kernel's and uvicorn's work; a queue's tail is always warm. Each minute has its own
queue, taken by the first check of the minute, so a decision is counted in the minute it was
made wherever the thread stands. Memory is bounded: past MAX_QUEUED queued checks (the thread
is held up, say by a slow database) the request that finds the queue that long counts it.

A checkMany from the general path costs the request path one append too: (caller, its
decisions) to its minute's queue of batches, counted by identity by the thread. A pipeline's
checkMany answered from its bytes (api/graphql/lean_raw.py) hands over its raw table's cell
ids packed in one buffer (domain/cell_ids.py), also appended to a queue. The thread counts a
second's buffers of a caller and table with one np.bincount per IDS_CHUNK of them into an
array of counts by id (~1.5 µs per 1,000), and ids become field, purpose, channel and
allowed only at the flush. There a cell whose row this worker already has in the minute
adds to it by the row's id, kept per (minute, caller, table) in an array by cell id (the
first flush of a minute inserts the rows, the next looks each cell's row up by key once):
a flush of ~17,000 rows that added to them took ~65 ms of the thread's time making keys and
dicts, ~17 ms now, most of it SQLite's (which lets go of the GIL). Measured and dropped:
counting them as Python objects (a dict by
identity, ~25-45 µs per 1,000: 6-10% of the fastest checkMany's server time); joining a
second of buffers at once (tens of MB of fresh pages to fault in); and np.add.at on the
request path (~3 µs in a loop, but it lets go of the GIL, and a thread that takes it then
keeps the request waiting: ~45 µs per request in the server).

The thread gives the interpreter up (time.sleep(0)) after every YIELD_EVERY decisions it
counts and every chunk of rows it writes, so a request waiting for the GIL gets it within
tens of microseconds, not after the interpreter's 5 ms switch interval. Memory is bounded:
past MAX_KEYS distinct decisions held in one flush interval, decisions not held yet are
counted under the field, purpose and channel OVERFLOW, so names a caller invents (each a new
decision object) cannot grow it without limit; the raw tables' arrays of counts are bounded
by MAX_SLOTS (past it, their ids are queued as decisions); and the queues are bounded as
above.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import compress, repeat
from operator import call
from time import sleep
from time import time as _now

import numpy as np

from catalog.db import audit
from catalog.domain import cell_ids
from catalog.domain.decision import Decision
from catalog.services.auth import Principal
from catalog.services.core import Catalog

log = logging.getLogger("catalog.decision_log")
MAX_KEYS = 200_000  # distinct keys held between two flushes, all callers together
MAX_SLOTS = 4_000_000  # raw table counts held between two flushes (int64 each: 32 MB)
OVERFLOW = "(overflow)"
PRUNE_EVERY = 3600.0  # seconds between retention prunes
DRAIN_SECONDS = 1.0  # the thread counts the single checks' queues this often
TICK_SECONDS = 1.0  # a check looks at the queues' length this often
MAX_QUEUED = 100_000  # single checks queued before a request counts them (thread held up)
# checkMany decisions queued before a request counts them: a second of a worker answering
# pipelines is ~2.5 million, so a held-up thread is several seconds behind (4 bytes each as
# raw table ids, 8 as Decision lists).
MAX_QUEUED_BATCHED = 8_000_000
DRAIN_CHUNK = 10_000  # queued checks taken out at a time
FLUSH_CHUNK = 2_000  # rows written at a time by the thread's flush
CHUNK = 1_000  # checks counted at a time (the MAX_KEYS bound is checked per chunk)
FEW_CALLERS = 16  # callers in one drain counted with a C loop each
YIELD_EVERY = 2_000  # decisions the thread counts before it hands the interpreter back
IDS_CHUNK = 64  # raw batches counted with one np.bincount (256 KB at 1,000 each)
WIDTHS = {"caller": 200, "field": 512, "purpose": 200, "channel": 200}

try:  # Counter.update's own C loop, without its per-call isinstance(Mapping) check
    from collections import _count_elements
except ImportError:  # pragma: no cover  (another Python)
    def _count_elements(mapping, iterable):
        for item in iterable:
            mapping[item] = mapping.get(item, 0) + 1


def caller_of(principal: Principal) -> str:
    return principal.name or f"token {principal.token_id}"


class DecisionRecorder:
    def __init__(self, cat: Catalog, *, flush_seconds: float, days: int,
                 max_keys: int = MAX_KEYS) -> None:
        self.cat = cat
        self.flush_seconds = flush_seconds
        self.days = days
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[tuple, Bucket] = {}  # (minute, name, token id) -> its counts
        self._keys = 0
        self._slots = 0  # counts held in the raw tables' arrays (MAX_SLOTS)
        self._cells: dict[tuple, np.ndarray] = {}  # (minute, name, token id, table) -> counts
        self._unwritten: list[tuple] = []  # rows: a key (_row_key) and its count
        self._row_ids: dict[tuple, int] = {}  # this worker's rows of the last two minutes
        # The same rows' ids by raw table cell, per (minute, name, token id, table): a flush
        # adds a cell's count to its row with no key to build (_known). 0: not known yet.
        self._cell_rows: dict[tuple, np.ndarray] = {}
        self._row_slots = 0  # their size together (MAX_SLOTS)
        self._row_minutes: set[int] = set()  # the minutes _row_ids holds rows of
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Per minute: single checks as principal, decision, principal, decision...; and
        # checkMany batches as (principal, decisions, None, n) or (principal, packed ids, raw
        # table, n). Counted by the thread (_drain). _queue_lock guards the dict of queues,
        # never held for long; _lock what is counted (_pending, _cells).
        self._queues: dict[int, tuple[deque, deque]] = {}
        self._queue: deque = deque()
        self._batches: deque = deque()
        self._queue_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._turn = 0.0  # when a check next calls _tick
        self._tick()

    # -- the request path: memory only ---------------------------------------------------------
    def record(self, principal: Principal, decisions: Sequence[Decision]) -> None:
        """A checkMany's decisions: queued for the thread to count."""
        if decisions:
            if _now() >= self._turn:
                self._tick()
            self._batches.append((principal, decisions, None, len(decisions)))

    def record_ids(self, principal: Principal, table, packed: bytes) -> None:
        """A checkMany answered from a raw table (lean_json.RawTable): its cell ids packed
        (cell_ids.pack), queued for the thread to bincount (the module's docstring)."""
        if packed:
            if _now() >= self._turn:
                self._tick()
            self._batches.append((principal, packed, table, cell_ids.count(packed)))

    def _count_raw(self, key: tuple, blobs: list[bytes]) -> None:
        """A minute's raw batches of a caller and table, key (minute, name, token id,
        table), into its array of counts (under the lock): one np.bincount per IDS_CHUNK
        batches (a few hundred KB at a time). Past MAX_SLOTS, their ids are counted as
        decisions."""
        table = key[3]
        counts, added = _at_least(self._cells, key, table.size, self._slots,
                                  room=table.size // 4)  # room: the table grows
        self._slots += added
        if counts is not None:
            for i in range(0, len(blobs), IDS_CHUNK):
                ids = cell_ids.ids_of(b"".join(blobs[i:i + IDS_CHUNK]))
                counts += np.bincount(ids, minlength=len(counts))
            return
        bucket = self._bucket(key[:3])
        for packed in blobs:
            decisions = list(map(table.decisions.__getitem__, cell_ids.ids_of(packed).tolist()))
            for i in range(0, len(decisions), CHUNK):
                self._count(bucket, decisions[i:i + CHUNK])

    def record_one(self, principal: Principal, decision: Decision) -> None:
        """A single check: queued for the thread to count (see the module's docstring)."""
        if _now() >= self._turn:  # at most once a second
            self._tick()
        # Two items in one C call, so adjacent whatever other threads do: no tuple to
        # allocate, which would stay young until counted and walked by every collection.
        self._queue.extend((principal, decision))

    def _tick(self) -> None:
        """Once a second on the request path: the queues of the minute now begun, and the
        bound on what is queued (reached only when the thread is held up)."""
        with self._queue_lock:
            now = _now()
            minute = int(now) // 60
            queues = self._queues.get(minute)
            if queues is None:
                queues = self._queues[minute] = (deque(), deque())
            self._queue, self._batches = queues
            # A float (compared with a float per check): the minute's end, or a second on.
            self._turn = float(min((minute + 1) * 60, now + TICK_SECONDS))
            singles, batched = self._queued_apart()
        # Held up: count here, unless the thread is counting right now.
        if (singles > MAX_QUEUED or batched > MAX_QUEUED_BATCHED) \
                and self._drain_lock.acquire(blocking=False):
            try:
                self._drain(pause=False, locked=True)
            except Exception:  # never the request's failure; the thread will retry
                log.exception("decision log: counting a held-up queue failed")
            finally:
                self._drain_lock.release()

    def _queued_apart(self) -> tuple[int, int]:
        """Single checks and checkMany decisions queued, not counted yet (an estimate
        while requests append)."""
        queues = list(self._queues.values())
        return (sum(len(singles) // 2 for singles, _ in queues),
                sum(b[3] for _, batches in queues for b in list(batches)))

    def _queued(self) -> int:
        return sum(self._queued_apart())

    def _drain(self, pause: bool = True, locked: bool = False) -> None:
        """Count the queued decisions into their minute's buckets, one drain at a time
        (`locked`: the caller holds _drain_lock). A request that took a minute's queues
        just before it ended may still append to them: they are dropped only once empty and
        a minute past their end. `pause`: the thread's drain hands the interpreter back
        every YIELD_EVERY decisions (the module's docstring)."""
        if not locked:
            with self._drain_lock:
                return self._drain(pause, locked=True)
        current = int(_now()) // 60
        done = 0
        with self._queue_lock:
            minutes = list(self._queues.items())
        for minute, (singles, batches) in minutes:
            n = len(singles)  # even (pairs go in at once); only _drain takes any out
            while n:
                take = min(n, 2 * DRAIN_CHUNK)
                items = list(map(call, repeat(singles.popleft, take)))
                with self._lock:
                    self._count_queued(minute, items)
                n -= take
                done += take // 2
                if pause and done >= YIELD_EVERY:
                    sleep(0)
                    done = 0
            raw: dict[tuple, list] = {}  # raw batches by caller and table: bincounted
            for _ in range(len(batches)):
                principal, items, table, n = batches.popleft()
                if table is not None:
                    key = (minute, principal.name, principal.token_id, table)
                    raw.setdefault(key, []).append(items)
                    continue
                with self._lock:
                    bucket = self._bucket((minute, principal.name, principal.token_id))
                    for i in range(0, n, CHUNK):
                        self._count(bucket, items[i:i + CHUNK])
                done += n
                if pause and done >= YIELD_EVERY:
                    sleep(0)
                    done = 0
            for key, blobs in raw.items():
                with self._lock:
                    self._count_raw(key, blobs)
                if pause:
                    sleep(0)
            with self._queue_lock:
                if not singles and not batches and minute < current - 1 \
                        and singles is not self._queue:
                    del self._queues[minute]

    def _count_queued(self, minute: int, items: list) -> None:
        """items: principal, decision, principal, decision... as queued."""
        principals, decisions = items[0::2], items[1::2]
        first = principals[0]
        if principals.count(first) == len(principals):  # one caller (identity first: C)
            groups = [(first, decisions)]
        else:
            ids = list(map(id, principals))
            callers = dict(zip(ids, principals, strict=True))
            if len(callers) <= FEW_CALLERS:  # one C loop each
                groups = [(p, list(compress(decisions, map(pid.__eq__, ids))))
                          for pid, p in callers.items()]
            else:
                mine: dict[int, list] = {pid: [] for pid in callers}
                for pid, d in zip(ids, decisions, strict=True):
                    mine[pid].append(d)
                groups = [(callers[pid], ds) for pid, ds in mine.items()]
        for principal, ds in groups:
            bucket = self._bucket((minute, principal.name, principal.token_id))
            for i in range(0, len(ds), CHUNK):
                self._count(bucket, ds[i:i + CHUNK])

    def _bucket(self, slot: tuple) -> Bucket:
        bucket = self._pending.get(slot)
        if bucket is None:
            bucket = self._pending[slot] = Bucket()
        return bucket

    def _count(self, bucket: Bucket, decisions: Sequence[Decision]) -> bool:
        """Count decisions by identity (under the lock); True when all of them are held."""
        held = bucket.held
        if self._keys < self.max_keys:
            counts = bucket.counts
            size = len(counts)
            ids = list(map(id, decisions))
            _count_elements(counts, ids)
            if len(counts) != size:  # new decisions: hold them (their ids stay unique)
                held.update(zip(ids, decisions, strict=True))
                self._keys += len(counts) - size
            return True
        for d in decisions:
            if id(d) in held:
                bucket.counts[id(d)] += 1
            else:
                bucket.overflow[_outcome(d)] = bucket.overflow.get(_outcome(d), 0) + 1
        return False

    @property
    def waiting(self) -> int:
        """Decisions counted or queued but not flushed yet."""
        with self._lock:
            counted = sum(sum(b.counts.values()) + sum(b.overflow.values())
                          for b in self._pending.values())
            counted += sum(int(c.sum()) for c in self._cells.values())
        with self._queue_lock:
            return counted + self._queued()

    # -- off the request path ------------------------------------------------------------------
    def flush(self, pause: bool = False) -> int:
        """Write what has been counted; returns the number of rows written (inserted or
        added to). A key this worker has a row for in the same minute adds to that row:
        a minute holds one row per key and worker, not one per flush (at 5 s, twelve
        times fewer rows to write, index and read). `pause`: the thread's flush, which
        hands the interpreter back between chunks of rows."""
        with self._flush_lock:
            self._drain(pause)
            with self._lock:
                pending, self._pending, self._keys = self._pending, {}, 0
                cells, self._cells, self._slots = self._cells, {}, 0
            known, cells = self._known(cells)
            rows = [*self._unwritten, *_rows(pending, cells, pause)]
            self._unwritten = []
            written = 0
            if rows or known[0].size:
                try:
                    written = self._write(rows, known, pause)
                except Exception as exc:
                    again = [*rows, *self._known_rows(known)]  # by key, while keys are known
                    if isinstance(exc, audit.DecisionLogGone):
                        self._row_ids, self._cell_rows, self._row_slots = {}, {}, 0
                        self._row_minutes = set()
                    self._put_back(again)
                    raise
            if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self.prune()
            return written

    def _known(self, cells: dict[tuple, np.ndarray]) -> tuple[tuple, dict]:
        """The raw tables' counts whose rows this worker already has, as (row ids, counts)
        arrays, and the rest of the counts (the keys made for them, by _rows). A cell's
        row is looked up by key once a minute (when the row is known: after the flush that
        inserts it), then found by its id."""
        ids, counts, rest = [], [], {}
        for key, array in cells.items():
            counted = np.flatnonzero(array)
            rows = self._rows_for(key, len(array))
            if rows is None:
                rest[key] = array
                continue
            found = rows[counted]
            missing = counted[found == 0]
            if missing.size and key[0] in self._row_minutes:
                # Look each up by key once: known from now on, or inserted.
                minute, name, token_id, table = key
                at = datetime.fromtimestamp(minute * 60, UTC)
                caller = _fit(name or f"token {token_id}", "caller")
                get, decisions = self._row_ids.get, table.decisions
                for cell in missing.tolist():
                    rows[cell] = get(_row_key(at, caller, decisions[cell]), 0)
                found = rows[counted]
            have = found != 0
            if not have.all():
                unknown = array.copy()
                unknown[counted[have]] = 0
                rest[key] = unknown
            ids.append(found[have])
            counts.append(array[counted[have]])
        if not ids:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64)), rest
        return (np.concatenate(ids), np.concatenate(counts)), rest

    def _rows_for(self, key: tuple, size: int) -> np.ndarray | None:
        """The array of row ids of a minute, caller and table, at least `size` long, or
        None past MAX_SLOTS."""
        rows, added = _at_least(self._cell_rows, key, size, self._row_slots)
        self._row_slots += added
        return rows

    def _known_rows(self, known: tuple) -> list[tuple]:
        """Known rows' counts as rows to write again (a failed write), by their keys."""
        by_id = {row_id: key for key, row_id in self._row_ids.items()}
        return [(*by_id[row_id], n) for row_id, n in _summed(known, []) if row_id in by_id]

    def _write(self, rows: list[tuple], known: tuple, pause: bool) -> int:
        """One transaction: counts added to this worker's rows of the minute (those of
        `known` by id, the others found by key), new keys inserted; their ids are kept once
        it commits."""
        added, new = [], {}
        get = self._row_ids.get
        for r in rows:
            row_id = get(r[:7])
            if row_id is None:
                new.setdefault(r[0], []).append(r[1:])
            else:
                added.append((row_id, r[7]))
        added = _summed(known, added)
        ids: dict[tuple, int] = {}
        with self.cat.engine.begin() as conn:
            for i in range(0, len(added), FLUSH_CHUNK):
                audit.add_to_decision_counts(conn=conn, added=added[i:i + FLUSH_CHUNK])
                if pause:
                    sleep(0)
            for minute, minute_rows in new.items():
                for i in range(0, len(minute_rows), FLUSH_CHUNK):
                    got = audit.insert_decision_counts(conn=conn, minute=minute,
                                                       rows=minute_rows[i:i + FLUSH_CHUNK])
                    ids.update(((minute, *key), row_id) for key, row_id in got.items())
                    if pause:
                        sleep(0)
        # Only the minutes still being counted: a late count for an older one inserts.
        first = int(_now()) // 60 - 1
        since = datetime.fromtimestamp(first * 60, UTC)
        if min(self._row_minutes, default=first) < first:
            self._row_ids = {k: v for k, v in self._row_ids.items() if k[0] >= since}
            self._cell_rows = {k: v for k, v in self._cell_rows.items() if k[0] >= first}
            self._row_slots = sum(len(v) for v in self._cell_rows.values())
        self._row_ids.update((k, v) for k, v in ids.items() if k[0] >= since)
        self._row_minutes = {int(k[0].timestamp()) // 60 for k in ids if k[0] >= since} | {
            m for m in self._row_minutes if m >= first}
        return len(added) + len(ids)

    def prune(self) -> int:
        self._pruned_at = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(days=self.days)
        with self.cat.engine.begin() as conn:
            return audit.prune_decisions(conn=conn, before=cutoff)

    def _put_back(self, rows: list[tuple]) -> None:
        """A failed write: keep its counts for the next round (bounded like any other)."""
        with self._lock:
            self._unwritten = rows[:self.max_keys]

    def start(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            due = time.monotonic() + self.flush_seconds
            while not self._stop.wait(min(DRAIN_SECONDS, max(0.0, due - time.monotonic()))):
                try:
                    if time.monotonic() < due:
                        self._drain(pause=True)
                        continue
                    due = time.monotonic() + self.flush_seconds
                    self.flush(pause=True)
                except Exception:  # the counts stay in memory; the next round retries
                    log.exception("decision log flush failed")

        self._thread = threading.Thread(target=loop, name="catalog-decision-log", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and flush what is left (a clean shutdown loses nothing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("decision log: final flush failed")


def _fit(value: str, what: str) -> str:
    width = WIDTHS[what]
    return value if len(value) <= width else value[:width - 1] + "…"


def _outcome(d: Decision) -> tuple[bool, str | None]:
    return d.allowed, getattr(d, "intensity", None)


class Bucket:
    """One (minute, caller)'s counts: by decision identity, and the overflow by outcome."""

    __slots__ = ("counts", "held", "overflow")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.held: dict[int, Decision] = {}
        self.overflow: dict[tuple[bool, str | None], int] = {}


def _rows(pending: dict[tuple, Bucket], cells: dict[tuple, np.ndarray] | None = None,
          pause: bool = False) -> list[tuple]:
    """Sum the buckets and the raw tables' arrays per key (equal decisions may be different
    objects, in different tables) into rows: (minute, caller, field, purpose, channel,
    allowed, intensity, count), the key as _row_key makes it."""
    totals: Counter = Counter()
    for (minute, name, token_id), bucket in pending.items():
        caller = _fit(name or f"token {token_id}", "caller")
        held = bucket.held
        for key, n in bucket.counts.items():
            d = held[key]
            totals[(minute, caller, d.field, d.purpose, d.channel, *_outcome(d))] += n
        for (allowed, intensity), n in bucket.overflow.items():
            totals[(minute, caller, OVERFLOW, OVERFLOW, OVERFLOW, allowed, intensity)] += n
    for (minute, name, token_id, table), counts in (cells or {}).items():
        caller = _fit(name or f"token {token_id}", "caller")
        counted = np.flatnonzero(counts)
        for cell_id, n in zip(counted.tolist(), counts[counted].tolist(), strict=True):
            d = table.decisions[cell_id]
            totals[(minute, caller, d.field, d.purpose, d.channel, *_outcome(d))] += n
        if pause:
            sleep(0)
    at = {m: datetime.fromtimestamp(m * 60, UTC) for m in {k[0] for k in totals}}
    return [(*_key(at[minute], *rest), n) for (minute, *rest), n in totals.items()]


def _row_key(at: datetime, caller: str, d: Decision) -> tuple:
    """A decision's row key, as _write looks it up."""
    return _key(at, caller, d.field, d.purpose, d.channel, d.allowed,
                getattr(d, "intensity", None))  # _outcome(d), without a call per cell


def _key(at: datetime, caller: str, field, purpose, channel, allowed, intensity) -> tuple:
    """A row's key: (minute, caller, field, purpose, channel, allowed, intensity), names cut
    to their columns' widths. The one place keys are made: a row inserted under one is found
    again by the same."""
    return (at, caller, _fit(str(field), "field"), _fit(str(purpose), "purpose"),
            _fit(str(channel), "channel"), bool(allowed), intensity)


def _at_least(arrays: dict, key, size: int, used: int,
              room: int = 0) -> tuple[np.ndarray | None, int]:
    """arrays[key], grown (zeros, with `room` more) when shorter than `size`, and how many
    slots that added; (None, 0) when growing to `size` would pass MAX_SLOTS with `used`."""
    old = arrays.get(key)
    have = 0 if old is None else len(old)
    if have >= size:
        return old, 0
    if used + size - have > MAX_SLOTS:
        return None, 0
    bigger = np.zeros(size + room, dtype=np.int64)
    if old is not None:
        bigger[:have] = old
    arrays[key] = bigger
    return bigger, len(bigger) - have


def _summed(known: tuple, added: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(row id, n) pairs, one per row: a row may be counted both by cell (several tables
    of a minute share keys) and by key, and one UPDATE must see each row once."""
    ids, counts = known
    if added:
        more = np.array(added, dtype=np.int64).reshape(-1, 2)
        ids, counts = np.concatenate((ids, more[:, 0])), np.concatenate((counts, more[:, 1]))
    if not ids.size:
        return []
    rows, where = np.unique(ids, return_inverse=True)
    sums = np.zeros(len(rows), np.int64)
    np.add.at(sums, where, counts)
    return list(zip(rows.tolist(), sums.tolist(), strict=True))


def enable(cat: Catalog) -> DecisionRecorder | None:
    """Attach a recorder to the catalog when CATALOG_DECISION_LOG is on (the server does)."""
    s = cat.settings
    if not s.decision_log:
        return None
    recorder = getattr(cat, "decision_log", None)
    if recorder is None:
        recorder = DecisionRecorder(cat, flush_seconds=s.decision_log_flush,
                                    days=s.decision_log_days)
        cat.decision_log = recorder  # type: ignore[attr-defined]
    return recorder


def recorder_of(cat: Catalog) -> DecisionRecorder | None:
    return getattr(cat, "decision_log", None)
