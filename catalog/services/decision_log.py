"""The decision log (CONTRACT §10): every decision `check` and `checkMany` answer over the API,
counted per (minute, caller, field, purpose, channel, allowed) in memory on each worker and
flushed to the database in batches by a background thread: never a write on the request path.

Counting is per batch and in C (Counter.update over zipped requests and outcomes), so it costs
a checkMany almost nothing. Memory is bounded: past MAX_KEYS distinct keys in one flush
interval, decisions whose key is new are counted under the field, purpose and channel
OVERFLOW, so names a caller invents cannot grow it without limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from catalog.db import audit
from catalog.domain.decision import Decision
from catalog.services.auth import Principal
from catalog.services.core import Catalog

log = logging.getLogger("catalog.decision_log")
MAX_KEYS = 200_000  # distinct keys held between two flushes, all callers together
OVERFLOW = "(overflow)"
PRUNE_EVERY = 3600.0  # seconds between retention prunes
WIDTHS = {"caller": 200, "field": 512, "purpose": 200, "channel": 200}

# What a decision adds to its key: allowed, and its intensity once decisions carry one.
_outcome = attrgetter("allowed", "intensity") if "intensity" in getattr(
    Decision, "__dataclass_fields__", {}) else attrgetter("allowed")


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
        self._pending: dict[tuple[int, str], Counter] = {}
        self._keys = 0
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the request path: memory only ---------------------------------------------------------
    def record(self, principal: Principal, requests: Sequence[tuple[str, str, str]],
               decisions: Sequence[Decision]) -> None:
        slot = (int(time.time()) // 60, caller_of(principal))
        with self._lock:
            bucket = self._pending.get(slot)
            if bucket is None:
                bucket = self._pending[slot] = Counter()
            if self._keys < self.max_keys:
                size = len(bucket)
                bucket.update(zip(requests, map(_outcome, decisions), strict=True))
                self._keys += len(bucket) - size
                return
            other = (OVERFLOW, OVERFLOW, OVERFLOW)
            for key in zip(requests, map(_outcome, decisions), strict=True):
                if key in bucket:
                    bucket[key] += 1
                else:
                    bucket[(other, key[1])] += 1

    @property
    def waiting(self) -> int:
        """Decisions counted but not flushed yet."""
        with self._lock:
            return sum(sum(b.values()) for b in self._pending.values())

    # -- off the request path ------------------------------------------------------------------
    def flush(self) -> int:
        """Write what has been counted; returns the number of rows written."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending, self._keys = self._pending, {}, 0
            rows = list(_rows(pending))
            if rows:
                try:
                    with self.cat.engine.begin() as conn:
                        audit.insert_decision_counts(conn=conn, rows=rows)
                except Exception:
                    self._put_back(pending)
                    raise
            if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self.prune()
            return len(rows)

    def prune(self) -> int:
        self._pruned_at = time.monotonic()
        cutoff = datetime.now(UTC) - timedelta(days=self.days)
        with self.cat.engine.begin() as conn:
            return audit.prune_decisions(conn=conn, before=cutoff)

    def _put_back(self, pending: dict[tuple[int, str], Counter]) -> None:
        with self._lock:
            for slot, counts in pending.items():
                self._pending.setdefault(slot, Counter()).update(counts)
            self._keys = sum(len(b) for b in self._pending.values())

    def start(self) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.flush_seconds):
                try:
                    self.flush()
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


def _rows(pending: dict[tuple[int, str], Counter]):
    for (minute, caller), counts in pending.items():
        at = datetime.fromtimestamp(minute * 60, UTC)
        for ((field, purpose, channel), outcome), n in counts.items():
            allowed, intensity = outcome if isinstance(outcome, tuple) else (outcome, None)
            yield {"minute": at, "caller": _fit(caller, "caller"),
                   "field": _fit(str(field), "field"), "purpose": _fit(str(purpose), "purpose"),
                   "channel": _fit(str(channel), "channel"), "allowed": bool(allowed),
                   "intensity": intensity, "count": n}


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
