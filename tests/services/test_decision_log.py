"""The decision log (docs/semantics.md §10): counted in memory per batch, flushed in batches, read
with filters and keyset paging; bounded against invented names. SQLite and PostgreSQL."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from catalog.api.graphql.lean_json import RawTable
from catalog.db import audit as audit_db
from catalog.db.tables import DecisionLogRow
from catalog.domain import cell_ids
from catalog.errors import BadInput, Forbidden
from catalog.services import audit, checks, decision_log
from catalog.services.auth import Principal
from catalog.services.timeline import AsOf

EMAIL = "crm.customers.email"
SIZE = "crm.customers.clothing_size"


def rows(cat) -> int:
    with cat.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(
            DecisionLogRow.__table__)).scalar_one()


def everything(cat, who, **filters):
    out, after = [], None
    while True:
        page, after, more = audit.decision_log(cat, who, first=3, after=after, **filters)
        out.extend(page)
        if not more:
            return out


def test_counts_equal_the_checks_sent(demo_catalog, reviewer):
    recorder = decision_log.enable(demo_catalog)
    a, b = Principal("pipeline", name="team-a"), Principal("pipeline", token_id=7)
    for _ in range(3):
        checks.check(demo_catalog, a, EMAIL, "marketing.direct", "email")
    checks.check_many(demo_catalog, b, [(EMAIL, "service", "web")] * 5
                      + [(SIZE, "marketing.direct", "sms")])
    checks.check(demo_catalog, a, SIZE, "service", "web", as_of=AsOf(revision=1))  # counted
    checks.usage_matrix(demo_catalog, reviewer, EMAIL)  # not counted
    assert recorder.waiting == 10 and rows(demo_catalog) == 0  # nothing written yet
    recorder.flush()
    recorder.flush()  # nothing more to write
    entries = everything(demo_catalog, reviewer)
    got = sorted((e.caller, e.field, e.purpose, e.channel, e.allowed, e.count) for e in entries)
    assert got == sorted([
        ("team-a", EMAIL, "marketing.direct", "email", True, 3),
        ("team-a", SIZE, "service", "web", False, 1),  # as of revision 1: no fields yet
        ("token 7", EMAIL, "service", "web", False, 5),
        ("token 7", SIZE, "marketing.direct", "sms", False, 1)])
    minute = entries[0].minute
    assert minute.tzinfo is not None and minute.second == 0
    # A second flush adds up with the first: the reader sums.
    checks.check(demo_catalog, a, EMAIL, "marketing.direct", "email")
    recorder.close()
    [entry] = everything(demo_catalog, reviewer, caller="team-a", field="crm.customers",
                         purpose="marketing", allowed=True)
    assert entry.count == 4
    assert everything(demo_catalog, reviewer, channel="sms")[0].field == SIZE
    assert everything(demo_catalog, reviewer, since=minute + timedelta(minutes=1)) == []
    assert len(everything(demo_catalog, reviewer, until=minute + timedelta(minutes=1))) == 4
    assert everything(demo_catalog, reviewer, field="crm.custom") == []  # whole segments


def test_repeated_batches_count_like_any_other(demo_catalog, reviewer):
    """A checkMany asked again, or one that only looks like it (same length, same first,
    middle and last decisions), is counted decision by decision."""
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90)
    who = Principal("pipeline", name="batcher")
    batch = [(EMAIL, "service", "web"), (SIZE, "service", "web"), (EMAIL, "service", "sms"),
             (SIZE, "marketing.direct", "sms"), (EMAIL, "marketing.direct", "email")]
    lookalike = [*batch[:1], (SIZE, "analytics", "web"), *batch[2:]]
    sent = []
    for reqs in [batch, batch, lookalike, batch, lookalike, batch[:3], batch]:
        recorder.record(who, demo_catalog.index.check_many(reqs))
        sent += reqs
    assert recorder.waiting == len(sent)
    recorder.flush()
    index = demo_catalog.index
    expected: dict = {}
    for f, p, c in sent:
        key = (f, p, c, index.check(f, p, c).allowed)
        expected[key] = expected.get(key, 0) + 1
    got = {(e.field, e.purpose, e.channel, e.allowed): e.count
           for e in everything(demo_catalog, reviewer, caller="batcher")}
    assert got == expected


def test_order_is_newest_minute_first_then_by_key(demo_catalog, reviewer):
    recorder = decision_log.enable(demo_catalog)
    old = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    with demo_catalog.engine.begin() as conn:
        conn.execute(DecisionLogRow.__table__.insert(), [
            {"minute": old, "caller": c, "field": EMAIL, "purpose": "service", "channel": "web",
             "allowed": True, "count": 1} for c in ("b", "a")])
    checks.check(demo_catalog, Principal("pipeline", name="z"), EMAIL, "service", "web")
    recorder.flush()
    got = [(e.minute == old, e.caller) for e in everything(demo_catalog, reviewer)]
    assert got == [(False, "z"), (True, "a"), (True, "b")]


def test_invented_names_do_not_grow_memory_without_bound(demo_catalog, reviewer):
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90,
                                             max_keys=100)
    who = Principal("pipeline", name="fuzzer")
    for i in range(20):
        reqs = [(f"x.y.z{i}_{j}", "service", "web") for j in range(50)]
        recorder.record(who, demo_catalog.index.check_many(reqs))
    recorder._drain()
    assert sum(len(b.held) for b in recorder._pending.values()) <= 100 + 50
    assert recorder.waiting == 1000  # nothing is lost: the rest is counted as overflow
    recorder.flush()
    entries = everything(demo_catalog, reviewer)
    assert sum(e.count for e in entries) == 1000
    assert any(e.field == decision_log.OVERFLOW for e in entries)


def raw_table(index, requests):
    """A raw table (api/graphql/lean_json.py) holding these requests' decisions, and
    their cell ids."""
    table = RawTable(index)
    return table, [table.add(d, b"{}") for d in index.check_many(requests)]


@pytest.mark.parametrize("max_slots", [None, 6])  # 6: the first array only (5 ids, room)
def test_raw_table_ids_count_as_their_decisions(demo_catalog, reviewer, monkeypatch,
                                                max_slots):
    """A checkMany answered from its bytes hands over its cell ids packed; they are counted
    as the decisions they stand for, summed across tables (a table per snapshot), and past
    the bound on counted slots as decisions (held, or overflow) without losing a count."""
    if max_slots is not None:
        monkeypatch.setattr(decision_log, "MAX_SLOTS", max_slots)
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90,
                                             max_keys=3)
    demo_catalog.decision_log = recorder
    a, b = Principal("pipeline", name="team-a"), Principal("pipeline", token_id=7)
    reqs = [(EMAIL, "service", "web"), (SIZE, "service", "web"),
            (EMAIL, "marketing.direct", "email"), (SIZE, "marketing.direct", "sms")]
    first, ids = raw_table(demo_catalog.index, reqs)
    second, again = raw_table(demo_catalog.index, reqs[::-1])
    sent = []
    for who, table, batch, asked in [(a, first, ids, reqs), (a, first, ids[:2], reqs[:2]),
                                     (b, first, ids * 3, reqs * 3),
                                     (a, second, again, reqs[::-1]),
                                     (a, first, ids[1:], reqs[1:])]:
        checks.record_ids(demo_catalog, who, table, cell_ids.pack(batch))
        sent += [(who.name or f"token {who.token_id}", *r) for r in asked]
    assert recorder.waiting == len(sent) and rows(demo_catalog) == 0
    recorder._drain()  # the decisions queued past the bound
    assert recorder.waiting == len(sent)
    recorder.flush()
    index = demo_catalog.index
    expected: dict = {}
    for caller, f, p, c in sent:
        key = (caller, f, p, c, index.check(f, p, c).allowed)
        expected[key] = expected.get(key, 0) + 1
    got: dict = {}
    for e in everything(demo_catalog, reviewer):
        key = (e.caller, e.field, e.purpose, e.channel, e.allowed)
        got[key] = got.get(key, 0) + e.count
    if max_slots is None:
        assert got == expected
    else:  # a table's array of counts fits once; the rest are counted as decisions
        assert sum(got.values()) == len(sent)
        assert any(k[1] == decision_log.OVERFLOW for k in got)
        assert all(got[k] <= n for k, n in expected.items() if k in got)


def test_cell_ids_name_their_decisions(demo_catalog):
    reqs = [(EMAIL, "service", "web"), (SIZE, "marketing.direct", "sms"),
            (EMAIL, "marketing.direct", "email")]
    table, ids = raw_table(demo_catalog.index, reqs)
    numbers = cell_ids.ids_of(cell_ids.pack(ids * 2))
    decisions = demo_catalog.index.check_many(reqs)
    assert [table.decisions[n] for n in numbers.tolist()] == decisions * 2
    assert table.join(numbers) == b",".join([b"{}"] * 6)
    assert table.allowed_in(cell_ids.pack(ids * 2)) == 2 * sum(d.allowed for d in decisions)
    assert all(ids) and len(set(ids)) == len(ids)
    with pytest.raises(struct.error):  # a miss
        cell_ids.pack([*ids, None])


class Clock:
    """decision_log's wall clock, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def counted(cat, who) -> dict:
    return {(e.minute, e.caller, e.field, e.purpose, e.channel): e.count
            for e in everything(cat, who)}


def test_single_checks_are_counted_in_the_minute_they_were_made(demo_catalog, reviewer,
                                                                monkeypatch):
    """A single check is queued (no counting on the request path) in its minute's queue; a
    request that took the queue just before the minute ended is still counted in that
    minute, and a queue goes only once empty and a minute past its end."""
    clock = Clock(1_800_000_000.0 + 50)  # 50 s into a minute
    monkeypatch.setattr(decision_log, "_now", clock)
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90)
    demo_catalog.decision_log = recorder
    who = Principal("pipeline", name="team-a")
    for _ in range(3):
        checks.check(demo_catalog, who, EMAIL, "service", "web")
    late = recorder._queue  # a request that took the queue at 59.9 s ...
    clock.now += 10.5  # ... the minute turns
    for _ in range(2):
        checks.check(demo_catalog, who, EMAIL, "service", "web")
    late.extend((who, demo_catalog.index.check(EMAIL, "service", "web")))  # ... appends now
    assert recorder.waiting == 6 and rows(demo_catalog) == 0
    recorder.flush()
    first = datetime.fromtimestamp(1_800_000_000 // 60 * 60, UTC)
    second = first + timedelta(minutes=1)
    assert counted(demo_catalog, reviewer) == {
        (first, "team-a", EMAIL, "service", "web"): 4,
        (second, "team-a", EMAIL, "service", "web"): 2}
    late.extend((who, demo_catalog.index.check(EMAIL, "service", "web")))  # still counted
    clock.now += 120  # two minutes on: the empty old queues go at the next drain
    recorder.flush()
    assert counted(demo_catalog, reviewer)[(first, "team-a", EMAIL, "service", "web")] == 5
    recorder.flush()
    assert [q is late for q, _ in recorder._queues.values()] == [False]  # the checks' own


def without_thread(cat, monkeypatch, bound: str, value: int):
    """A recorder no thread drains, its clock moved by hand, one of its bounds lowered."""
    clock = Clock(1_800_000_000.0)
    monkeypatch.setattr(decision_log, "_now", clock)
    monkeypatch.setattr(decision_log, bound, value)
    recorder = decision_log.DecisionRecorder(cat, flush_seconds=60, days=90)
    cat.decision_log = recorder
    return clock, recorder, Principal("pipeline", name="team-a")


def test_queued_checks_are_bounded_when_the_thread_is_held_up(demo_catalog, reviewer,
                                                              monkeypatch):
    """Nothing drains the queue here (no thread): past MAX_QUEUED the request that looks at
    it counts it, and nothing is lost."""
    clock, recorder, who = without_thread(demo_catalog, monkeypatch, "MAX_QUEUED", 10)
    for _ in range(100):
        clock.now += 0.5  # a look at the queue's length every second
        checks.check(demo_catalog, who, EMAIL, "service", "web")
        assert sum(len(singles) for singles, _ in recorder._queues.values()) <= 2 * (10 + 2)
    assert recorder.waiting == 100
    recorder.flush()
    assert sum(counted(demo_catalog, reviewer).values()) == 100


def test_raw_batches_are_counted_in_the_minute_they_were_made(demo_catalog, reviewer,
                                                              monkeypatch):
    clock, recorder, who = without_thread(demo_catalog, monkeypatch, "MAX_QUEUED", 10)
    clock.now += 50  # 50 s into a minute
    table, ids = raw_table(demo_catalog.index, [(EMAIL, "service", "web")])
    for step in (0, 9.5, 1.0, 60.0):  # 50 s, 59.5 s, the next minute, the one after
        clock.now += step
        checks.record_ids(demo_catalog, who, table, cell_ids.pack(ids * 2))
    recorder.flush()
    first = datetime.fromtimestamp(1_800_000_000 // 60 * 60, UTC)
    assert counted(demo_catalog, reviewer) == {
        (first + timedelta(minutes=m), "team-a", EMAIL, "service", "web"): n
        for m, n in ((0, 4), (1, 2), (2, 2))}


def test_a_row_counted_by_cell_in_several_tables_and_by_key_adds_up(demo_catalog, reviewer,
                                                                    monkeypatch):
    """Once a cell's row is known, later flushes add to it by id (no key made): counts of
    one row from two raw tables (two snapshots' worth in a minute) and from single checks
    of the same key go in as one addition each flush, none lost; a new cell of a table
    joins later (its row looked up by key, then by id)."""
    clock, recorder, who = without_thread(demo_catalog, monkeypatch, "MAX_QUEUED", 10)
    reqs = [(EMAIL, "service", "web"), (SIZE, "service", "web")]
    one, first_ids = raw_table(demo_catalog.index, reqs)
    two, second_ids = raw_table(demo_catalog.index, reqs)
    for _ in range(4):
        checks.record_ids(demo_catalog, who, one, cell_ids.pack(first_ids))
        checks.record_ids(demo_catalog, who, two, cell_ids.pack(second_ids * 2))
        checks.check(demo_catalog, who, EMAIL, "service", "web")
        recorder.flush()
    late = two.add(demo_catalog.index.check(EMAIL, "marketing.direct", "email"), b"{}")
    checks.record_ids(demo_catalog, who, two, cell_ids.pack([late, *second_ids]))
    recorder.flush()
    checks.record_ids(demo_catalog, who, two, cell_ids.pack([late]))
    recorder.flush()
    assert rows(demo_catalog) == 3
    minute = datetime.fromtimestamp(1_800_000_000 // 60 * 60, UTC)
    assert counted(demo_catalog, reviewer) == {
        (minute, "team-a", EMAIL, "service", "web"): 4 * 4 + 1,
        (minute, "team-a", SIZE, "service", "web"): 4 * 3 + 1,
        (minute, "team-a", EMAIL, "marketing.direct", "email"): 2}


def test_a_minute_holds_one_row_per_key_and_worker(demo_catalog, reviewer, monkeypatch):
    """Flushes in the same minute add to the worker's row; another worker (recorder) has
    its own; the next minute starts new rows; a row deleted under the worker is written
    again, counts kept."""
    clock, recorder, who = without_thread(demo_catalog, monkeypatch, "MAX_QUEUED", 10)
    other = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90)
    table, ids = raw_table(demo_catalog.index, [(EMAIL, "service", "web"),
                                                 (SIZE, "service", "web")])
    for _ in range(3):
        checks.record_ids(demo_catalog, who, table, cell_ids.pack(ids))
        checks.check(demo_catalog, who, EMAIL, "service", "web")
        recorder.flush()
    other.record_ids(who, table, cell_ids.pack(ids[:1]))
    other.flush()
    assert rows(demo_catalog) == 3  # EMAIL and SIZE for one worker, EMAIL for the other
    first = datetime.fromtimestamp(1_800_000_000 // 60 * 60, UTC)
    assert counted(demo_catalog, reviewer) == {
        (first, "team-a", EMAIL, "service", "web"): 7,
        (first, "team-a", SIZE, "service", "web"): 3}
    clock.now += 60
    checks.record_ids(demo_catalog, who, table, cell_ids.pack(ids))
    recorder.flush()
    assert rows(demo_catalog) == 5
    with demo_catalog.engine.begin() as conn:
        conn.execute(DecisionLogRow.__table__.delete().where(
            DecisionLogRow.__table__.c.minute > first))
    checks.record_ids(demo_catalog, who, table, cell_ids.pack(ids))
    with pytest.raises(audit_db.DecisionLogGone):
        recorder.flush()
    recorder.flush()  # the counts were kept, and go in as new rows
    assert counted(demo_catalog, reviewer)[(first + timedelta(minutes=1), "team-a", EMAIL,
                                            "service", "web")] == 1


def test_queued_batches_are_bounded_and_drained_one_at_a_time(demo_catalog, reviewer,
                                                               monkeypatch):
    """checkMany batches past MAX_QUEUED_BATCHED are counted by the request that looks at
    the queue, unless the thread is counting right then (it holds the drain lock): then the
    request neither waits nor counts. Two drains never race for the same queue (a request
    once got a 500 from that), and every decision is counted once."""
    clock, recorder, who = without_thread(demo_catalog, monkeypatch, "MAX_QUEUED_BATCHED", 20)
    reqs = [(EMAIL, "service", "web"), (SIZE, "service", "web")]
    table, ids = raw_table(demo_catalog.index, reqs)
    packed = cell_ids.pack(ids * 3)  # 6 decisions a batch

    def send(n: int) -> None:
        for i in range(n):
            clock.now += 0.5  # a look at the queue every second request
            if i % 2:
                checks.record_ids(demo_catalog, who, table, packed)
            else:
                checks.check_many(demo_catalog, who, reqs * 3)

    assert recorder._drain_lock.acquire(blocking=False)  # the thread is counting
    send(100)  # would block here if requests waited for the thread (the lock is not reentrant)
    assert recorder._queued() == 600
    assert recorder.waiting == 600
    recorder._drain_lock.release()
    send(100)
    assert recorder._queued() <= 20 + 6
    assert recorder.waiting == 1200
    recorder.flush()
    assert sum(counted(demo_catalog, reviewer).values()) == 1200


@pytest.mark.parametrize("few", [16, 1])  # one C loop per caller / one Python loop for all
def test_queued_checks_of_several_callers(demo_catalog, reviewer, monkeypatch, few):
    monkeypatch.setattr(decision_log, "FEW_CALLERS", few)
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90)
    demo_catalog.decision_log = recorder
    a, b = Principal("pipeline", name="team-a"), Principal("pipeline", token_id=7)
    a_again = Principal("pipeline", name="team-a")  # its token verified again: a new object
    for i in range(30):
        who = (a, b, a_again)[i % 3]
        checks.check(demo_catalog, who, (EMAIL, SIZE)[i % 2], "service", "web")
    recorder.flush()
    got = {(caller, field): n for (_, caller, field, _, _), n
           in counted(demo_catalog, reviewer).items()}
    assert got == {("team-a", EMAIL): 10, ("team-a", SIZE): 10,
                   ("token 7", EMAIL): 5, ("token 7", SIZE): 5}


def test_invented_names_in_single_checks_stay_bounded(demo_catalog, reviewer):
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=90,
                                             max_keys=100)
    demo_catalog.decision_log = recorder
    who = Principal("pipeline", name="fuzzer")
    for i in range(3000):
        checks.check(demo_catalog, who, f"x.y.z{i}", "service", "web")
    recorder._drain()
    assert sum(len(b.held) for b in recorder._pending.values()) <= 100 + decision_log.CHUNK
    assert recorder.waiting == 3000
    recorder.flush()
    entries = everything(demo_catalog, reviewer)
    assert sum(e.count for e in entries) == 3000
    assert any(e.field == decision_log.OVERFLOW for e in entries)


def test_retention_prunes_old_entries(demo_catalog, reviewer):
    recorder = decision_log.DecisionRecorder(demo_catalog, flush_seconds=60, days=1)
    with demo_catalog.engine.begin() as conn:
        conn.execute(DecisionLogRow.__table__.insert(), [
            {"minute": datetime.now(UTC) - timedelta(days=d), "caller": "c", "field": EMAIL,
             "purpose": "service", "channel": "web", "allowed": True, "count": 1}
            for d in (0, 3)])
    assert recorder.prune() == 1
    assert len(everything(demo_catalog, reviewer)) == 1


def test_off_writes_nothing(catalog_factory, demo_catalog, pipeline):
    off = catalog_factory(str(demo_catalog.settings.database_url), decision_log=False)
    assert decision_log.enable(off) is None
    checks.check(off, pipeline, EMAIL, "service", "web")
    assert rows(off) == 0


@pytest.mark.parametrize(("filters", "words"), [
    ({"since": datetime(2026, 2, 1), "until": datetime(2026, 1, 1)}, "after until"),
    ({"after": "not a cursor!"}, "invalid cursor"),
    ({"after": "WyJ4Il0="}, "invalid cursor"),  # valid base64 of JSON, not a key
    ({"first": 0}, "first"),
])
def test_decision_log_bad_input(demo_catalog, reviewer, filters, words):
    with pytest.raises(BadInput, match=words):
        audit.decision_log(demo_catalog, reviewer, **filters)


@pytest.mark.parametrize("role", ["pipeline", "owner"])
def test_only_reviewers_and_admins_read_the_log(demo_catalog, role):
    who = Principal(role, "crm." if role == "owner" else None)
    with pytest.raises(Forbidden):
        audit.decision_log(demo_catalog, who)
    with pytest.raises(Forbidden):
        audit.overcrowding(demo_catalog, who)


def test_overcrowding_counts_distinct_callers_per_channel_and_marketing_purpose(
        demo_catalog, reviewer):
    recorder = decision_log.enable(demo_catalog)
    for team in ("a", "b", "c"):
        who = Principal("pipeline", name=f"team-{team}")
        checks.check_many(demo_catalog, who, [(EMAIL, "marketing.direct", "email")] * 2)
    checks.check(demo_catalog, Principal("pipeline", name="team-a"), EMAIL,
                 "marketing.direct", "sms")
    checks.check(demo_catalog, Principal("pipeline", name="team-d"), EMAIL, "service", "sms")
    recorder.flush()
    got = [(r.channel, r.purpose, r.callers, r.decisions)
           for r in audit.overcrowding(demo_catalog, reviewer)]
    assert got == [("email", "marketing.direct", 3, 6), ("sms", "marketing.direct", 1, 1)]
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert audit.overcrowding(demo_catalog, reviewer, since=later) == []
