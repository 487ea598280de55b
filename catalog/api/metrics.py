"""GET /metrics: Prometheus text format, no token (docs/semantics.md §14); CATALOG_METRICS=off hides
it.

Cheap on the check path: a request appends its query and seconds to a deque and a check appends
its decision (or its list of decisions) to another; both are O(1), atomic under the GIL, and
take no lock, nor make an object the collector would track (a (query, seconds) tuple per
request stayed young until the flush and was walked by every collection). A flush (every second
in a background thread, and before each scrape) drains them with C-level loops into the
prometheus-client metrics: a counter add per outcome and a histogram add per bucket, not one
locked update per decision or request.

Workers: `catalog serve` gives each server a fresh directory in PROMETHEUS_MULTIPROC_DIR
before its workers start, so prometheus-client runs in multiprocess mode: each worker writes
its values to its own files and a scrape answered by any worker adds them up (counters and
histograms summed; the index revision is the lowest of the live workers', the lag the
highest). Without that variable (one process, tests) each app has a registry of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from bisect import bisect_left
from collections import Counter as Tally
from collections import deque
from itertools import compress, repeat
from operator import attrgetter, call, is_, itemgetter
from time import perf_counter

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catalog.api.graphql.context import off_loop
from catalog.db import repo
from catalog.domain.decision import Decision
from catalog.services import decision_log

log = logging.getLogger("catalog.metrics")
FLUSH_SECONDS = 1.0
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
           10.0, float("inf"))
QUERY_KEY = "catalog.query"  # where the endpoint leaves the request's document in the scope
MAX_LABELLED = 1_000  # documents whose operation is remembered; then the memo starts over
PARSE_LIMIT = 20_000  # characters; a longer document is labelled by a cheap scan
ALLOWED = attrgetter("allowed")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)



class Metrics:
    def __init__(self, catalog, root_fields: set[str]) -> None:
        self.catalog = catalog
        self.root_fields = root_fields
        # prometheus-client chose its mode when first imported (from the environment).
        self.multiprocess = getattr(values.ValueClass, "_multiprocess", False)
        self.registry = None if self.multiprocess else CollectorRegistry()
        reg = {"registry": self.registry}
        self.decisions = Counter("catalog_decisions", "Decisions answered by check and "
                                 "checkMany, by outcome", ["allowed"], **reg)
        self.latency = Histogram("catalog_request_duration_seconds", "POST /graphql requests "
                                 "by operation (root field) and their latency", ["operation"],
                                 buckets=BUCKETS, **reg)
        self.revision = Gauge("catalog_index_revision", "Catalog revision the in-memory index "
                              "answers from (the lowest of the workers)",
                              multiprocess_mode="livemin", **reg)
        self.db_revision = Gauge("catalog_database_revision", "Catalog revision committed in "
                                 "the database", multiprocess_mode="livemax", **reg)
        self.lag = Gauge("catalog_index_lag_revisions", "Revisions the index is behind the "
                         "database (the highest of the workers)", multiprocess_mode="livemax",
                         **reg)
        self.sync_errors = Counter("catalog_sync_errors", "Background syncs of the index that "
                                   "failed", **reg)
        self.backlog = Gauge("catalog_decision_log_backlog", "Decisions the decision log has "
                             "counted and not yet flushed to the database",
                             multiprocess_mode="livesum", **reg)
        self.requests: deque = deque()  # query, seconds, query, seconds...
        catalog.seen = deque()  # services.checks appends what it answers
        self._operations: dict[str, str] = {}
        self._sync_errors_seen = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the hot path ------------------------------------------------------------------------
    def request(self, query: str | None, started: float) -> None:
        # Two items in one C call: adjacent whatever other threads append meanwhile.
        self.requests.extend((query, perf_counter() - started))

    # -- flushing ------------------------------------------------------------------------------
    def flush(self) -> None:
        with self._lock:
            self._flush_decisions()
            self._flush_requests()
            self._flush_gauges()

    def _flush_decisions(self) -> None:
        seen = self.catalog.seen
        # What is there now (later appends wait for the next flush), taken out in C.
        items = list(map(call, repeat(seen.popleft, len(seen))))
        kinds = list(map(type, items))
        if list in kinds or tuple in kinds:
            # checkMany's lists, and raw answers' (decisions, allowed) counted already
            # (api/graphql/lean_raw.py), among the single checks' decisions
            lists = list(compress(items, map(is_, kinds, repeat(list))))
            counted = list(compress(items, map(is_, kinds, repeat(tuple))))
            items = list(compress(items, map(is_, kinds, repeat(Decision))))
            total = len(items) + sum(map(len, lists)) + sum(map(_FIRST, counted))
            allowed = (sum(map(ALLOWED, items)) + sum(sum(map(ALLOWED, x)) for x in lists)
                       + sum(map(_SECOND, counted)))
        else:
            total, allowed = len(items), sum(map(ALLOWED, items))
        if allowed:
            self.decisions.labels("true").inc(allowed)
        if total - allowed:
            self.decisions.labels("false").inc(total - allowed)

    def _flush_requests(self) -> None:
        requests = self.requests
        items = list(map(call, repeat(requests.popleft, len(requests) & ~1)))  # whole pairs
        queries, seconds = items[0::2], items[1::2]
        labels = list(map(self._operations.get, queries))  # labelled before, mostly
        if None in labels:
            labels = list(map(self.operation, queries))
        ops = set(labels)
        for op in ops:
            mine = seconds if len(ops) == 1 else list(compress(seconds, map(op.__eq__, labels)))
            per_bucket = Tally(map(bisect_left, repeat(BUCKETS), mine))
            child = self.latency.labels(op)
            # Histogram.observe once per request, in bulk: the same values it stores (the
            # sum and the per-bucket counts it adds up when exposed).
            child._sum.inc(sum(mine))
            for i, bucket in enumerate(child._buckets):
                if per_bucket[i]:
                    bucket.inc(per_bucket[i])

    def _flush_gauges(self) -> None:
        cat = self.catalog
        index_revision = cat.index.revision
        self.revision.set(index_revision)
        try:
            with cat.engine.connect() as conn:
                db_revision = repo.current_revision(conn=conn)
            self.db_revision.set(db_revision)
            self.lag.set(max(0, db_revision - index_revision))
        except Exception:  # the database is away: the sync errors say so
            log.debug("metrics: cannot read the database revision", exc_info=True)
        errors = cat.sync_errors
        if errors > self._sync_errors_seen:
            self.sync_errors.inc(errors - self._sync_errors_seen)
            self._sync_errors_seen = errors
        recorder = decision_log.recorder_of(cat)  # None when CATALOG_DECISION_LOG is off
        self.backlog.set(recorder.waiting if recorder is not None else 0)

    def operation(self, query: str | None) -> str:
        """The request's root field (`check`, `checkMany`, `registerField`...), `multiple`,
        or `invalid`: label values are bounded by the schema, whatever callers send."""
        if query is None:
            return "invalid"
        label = self._operations.get(query)
        if label is None:
            if len(self._operations) >= MAX_LABELLED:
                self._operations.clear()
            label = self._operations[query] = self._label(query)
        return label

    def _label(self, query: str) -> str:
        if len(query) > PARSE_LIMIT:
            return "large"
        try:
            document = parse(query, no_location=True)
        except GraphQLError:
            return "invalid"
        names = {sel.name.value for d in document.definitions
                 if isinstance(d, OperationDefinitionNode)
                 for sel in d.selection_set.selections if isinstance(sel, FieldNode)}
        names.discard("__typename")
        if len(names) > 1:
            return "multiple"
        name = names.pop() if names else "invalid"
        return name if name in self.root_fields else "invalid"

    # -- lifecycle and exposition ------------------------------------------------------------
    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(FLUSH_SECONDS):
                try:
                    self.flush()
                except Exception:  # keep counting; the next flush may succeed
                    log.exception("metrics flush failed")

        self._thread = threading.Thread(target=loop, name="catalog-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.flush()
        if self.multiprocess:  # this worker's live gauges leave the sums
            multiprocess.mark_process_dead(os.getpid())

    def exposition(self) -> bytes:
        self.flush()
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)


def attach(catalog, endpoint, schema) -> tuple[Metrics | None, list[Route]]:
    """Metrics for an app (None when CATALOG_METRICS is off) and its route."""
    if not catalog.settings.metrics:
        return None, []
    roots = {*schema.query_type.fields, *(schema.mutation_type.fields
                                          if schema.mutation_type else ())}
    metrics = Metrics(catalog, roots)
    endpoint.metrics = metrics

    async def scrape(request: Request) -> Response:  # off the loop: it reads the database
        return Response(await off_loop(metrics.exposition), media_type=CONTENT_TYPE_LATEST)

    return metrics, [Route("/metrics", scrape, methods=["GET"])]
