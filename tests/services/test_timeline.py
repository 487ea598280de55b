"""As-of decisions and the change feed (docs/semantics.md §9), on SQLite and PostgreSQL.

The main property: for a random sequence of writes (grants, revokes, edges, rules, taxonomy
changes), the as-of decision at every revision equals the decision of a fresh index built from
the state the catalog had at that revision — a copy the test keeps as it goes, independent of
the change log."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, Conflict, Forbidden, NotFound
from catalog.services import checks, fields, lineage, policy, taxonomy, timeline
from catalog.services.auth import create_token
from catalog.services.fields import FieldInput
from catalog.services.timeline import AsOf

NAMES = [f"crm.t.f{i}" for i in range(6)]  # edges only from lower to higher: no cycles
CATEGORIES = ["historical.purchases", "tracking.contact", "external.health", "internal"]
SOURCES = ["first_party", "third_party", "zero_party"]
PURPOSES = ["service", "marketing", "marketing.direct", "personalization", "analytics"]
CHANNELS = [None, ("email",), ("email", "sms"), ("web",)]


def snapshot(cat) -> CatalogIndex:
    """A fresh index from the catalog's current state (not from the log)."""
    index = cat.index  # an immutable snapshot
    edges = [index.graph.edge(u, d) for u, d in index.graph.edges()]
    return CatalogIndex.build(index.taxonomy, index.rules, [index.fields[n] for n in index.fields],
                              edges, index.revision)


def random_write(cat, admin, rng: random.Random, step: int) -> None:
    have = [n for n in NAMES if cat.index.get(n) is not None]
    kind = rng.choice(["register", "grant", "grant", "revoke", "edge", "unedge", "rule",
                       "unrule", "taxonomy", "deprecate"])
    if kind == "register" or not have:
        name = rng.choice(NAMES)
        fields.register_fields(cat, admin, [FieldInput(
            name, category=rng.choice(CATEGORIES), source=rng.choice(SOURCES), owner="t",
            grants=tuple(sorted({p: Grant(p, rng.choice(CHANNELS), rng.random() < 0.3)
                                 for p in rng.sample(PURPOSES, 2)}.values(),
                                key=lambda g: g.purpose)))])
    elif kind == "grant":
        fields.grant_purpose(cat, admin, rng.choice(have), Grant(
            rng.choice(PURPOSES), rng.choice(CHANNELS), rng.random() < 0.3))
    elif kind == "revoke":
        rec = cat.index.get(rng.choice(have))
        if rec.grants:
            fields.revoke_purpose(cat, admin, rec.name, rng.choice(rec.grants).purpose)
    elif kind in ("edge", "unedge") and len(have) >= 2:
        up, down = sorted(rng.sample(have, 2), key=NAMES.index)
        if kind == "edge":
            lineage.add_lineages(cat, admin, [Edge(up, down, f"step {step}")])
        else:
            lineage.remove_lineage(cat, admin, up, down)
    elif kind == "rule":
        policy.upsert_rule(cat, admin, f"rule-{rng.randrange(3)}", {
            "effect": rng.choice(["DENY", "REQUIRE_CONSENT"]),
            "purposes": [rng.choice(PURPOSES)], "channels": [rng.choice(["email", "sms"])]})
    elif kind == "unrule":
        keys = [r.key for r in cat.index.rules]
        policy.delete_rule(cat, admin, rng.choice(keys))
    elif kind == "taxonomy":
        if rng.random() < 0.5:
            taxonomy.upsert_key(cat, admin, kind="purpose", key=f"marketing.step{step}")
        else:
            taxonomy.upsert_key(cat, admin, kind="category", key="internal",
                                sensitivity=rng.choice([1, 2, 3, 4]))
    elif kind == "deprecate":
        fields.deprecate_field(cat, admin, rng.choice(have))


def cells(purposes) -> list[tuple[str, str, str]]:
    return [(f, p, c) for f in [*NAMES, "crm.t.unknown"] for p in purposes
            for c in ("email", "sms", "web", "nowhere")]


@pytest.mark.parametrize("seed", [1, 2])
def test_as_of_equals_a_replay_of_the_state_at_every_revision(catalog, admin, pipeline, seed):
    rng = random.Random(seed)
    kept = {catalog.index.revision: snapshot(catalog)}
    for step in range(30):
        try:
            random_write(catalog, admin, rng, step)
        except (BadInput, NotFound, Conflict):
            pass  # a refused write changes nothing; the sequence goes on
        kept[catalog.index.revision] = snapshot(catalog)
    purposes = sorted({*PURPOSES, "marketing.advertising", *catalog.index.taxonomy.purposes}
                      - {"service.delivery"})
    requests = cells(purposes)
    assert len(kept) > 15
    for revision, expected in sorted(kept.items()):
        got = checks.check_many(catalog, pipeline, requests, as_of=AsOf(revision=revision))
        assert got == expected.check_many(requests), f"as of revision {revision}"
        assert {d.revision for d in got} == {revision}


def test_as_of_time_and_the_empty_catalog(catalog, admin, pipeline):
    fields.register_fields(catalog, admin, [FieldInput(
        "crm.t.a", category="internal", source="first_party", owner="t",
        grants=(Grant("service"),))])
    granted = catalog.index.revision
    fields.revoke_purpose(catalog, admin, "crm.t.a", "service")
    now = datetime.now(UTC)
    assert not checks.check(catalog, pipeline, "crm.t.a", "service", "web").allowed
    old = checks.check(catalog, pipeline, "crm.t.a", "service", "web",
                       as_of=AsOf(revision=granted))
    assert old.allowed and old.revision == granted
    by_time = checks.check(catalog, pipeline, "crm.t.a", "service", "web", as_of=AsOf(time=now))
    assert by_time.revision == catalog.index.revision and not by_time.allowed
    # Before the first commit: revision 0, the empty catalog (nothing known).
    empty = checks.check(catalog, pipeline, "crm.t.a", "service", "web",
                         as_of=AsOf(time=datetime(2000, 1, 1)))  # no offset: UTC
    assert empty.revision == 0
    assert [r.code.value for r in empty.reasons] == ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE",
                                                     "UNKNOWN_CHANNEL"]
    # A later write never changes an as-of answer, and the current answer stays current.
    fields.grant_purpose(catalog, admin, "crm.t.a", Grant("service"))
    assert checks.check(catalog, pipeline, "crm.t.a", "service", "web",
                        as_of=AsOf(revision=granted + 1)) == checks.check(
        catalog, pipeline, "crm.t.a", "service", "web", as_of=AsOf(revision=granted + 1))
    assert not checks.check(catalog, pipeline, "crm.t.a", "service", "web",
                            as_of=AsOf(revision=granted + 1)).allowed
    current = checks.check(catalog, pipeline, "crm.t.a", "service", "web")
    assert current.allowed and current.revision == catalog.index.revision


@pytest.mark.parametrize(("as_of", "at_least", "error", "words"), [
    (AsOf(), None, BadInput, "exactly one"),
    (AsOf(revision=1, time=datetime(2020, 1, 1, tzinfo=UTC)), None, BadInput, "exactly one"),
    (AsOf(revision=-1), None, BadInput, "0 or more"),
    (AsOf(revision=1), 1, BadInput, "atLeastRevision"),
    (AsOf(revision=10_000), None, Conflict, "not reached"),
    (AsOf(time=datetime.now(UTC) + timedelta(days=1)), None, Conflict, "future"),
])
def test_as_of_bad_input(catalog, pipeline, as_of, at_least, error, words):
    for revision in range(min(catalog.index.revision, 1) + 1):  # cached: still refused
        checks.check(catalog, pipeline, "crm.t.a", "service", "web", as_of=AsOf(revision))
    with pytest.raises(error, match=words):
        checks.check(catalog, pipeline, "crm.t.a", "service", "web", at_least, as_of)
    with pytest.raises(error, match=words):
        checks.check_many(catalog, pipeline, [("crm.t.a", "service", "web")], at_least, as_of)


def test_the_cache_of_historical_indexes_is_bounded(catalog, admin, pipeline):
    for i in range(timeline.CACHED_INDEXES + 3):
        taxonomy.upsert_key(catalog, admin, kind="purpose", key=f"marketing.k{i}")
    for r in range(1, catalog.index.revision + 1):
        checks.check(catalog, pipeline, "x.y.z", "service", "web", as_of=AsOf(revision=r))
    assert len(timeline._indexes(catalog)._indexes) == timeline.CACHED_INDEXES


def test_changes_are_oldest_first_and_a_page_never_splits_a_revision(catalog, admin, reviewer):
    fields.register_fields(catalog, admin, [FieldInput(
        f"crm.t.b{i}", category="internal", source="first_party", owner="t") for i in range(5)])
    batch = catalog.index.revision
    create_token(catalog, admin, role="pipeline", name="feed")
    page = timeline.changes(catalog, reviewer, after_revision=batch - 1, first=2)
    assert [e["revision"] for e in page] == [batch] * 5  # ran past first to finish it
    page = timeline.changes(catalog, reviewer, after_revision=batch - 1, first=6)
    assert [e["revision"] for e in page] == [batch] * 5 + [batch + 1]
    assert page[-1]["entity"] == "token"
    assert [e["field"] for e in page[:5]] == [f"crm.t.b{i}" for i in range(5)]
    assert page[0]["after"]["category"] == "internal" and page[0]["before"] is None
    everything = timeline.changes(catalog, reviewer, first=1000)
    revisions = [e["revision"] for e in everything]
    assert revisions == sorted(revisions) and revisions[0] == 1
    # The default taxonomy is logged key by key, in full: enough to rebuild it.
    keys = [e["after"] for e in everything if e["action"] == "add_taxonomy_key"]
    assert {"kind": "category", "key": "external.health", "sensitivity": 4, "privacy": None,
            "file": "taxonomy.yaml"}.items() <= keys[[k["key"] for k in keys].index(
                "external.health")].items()
    assert {e["entity"] for e in everything} == {"taxonomy", "rule", "field", "token"}


@pytest.mark.parametrize(("args", "error"), [
    ({"first": 0}, BadInput), ({"first": 1001}, BadInput), ({"after_revision": -1}, BadInput)])
def test_changes_bad_input(catalog, reviewer, args, error):
    with pytest.raises(error):
        timeline.changes(catalog, reviewer, **args)


def test_pipelines_may_not_read_the_change_feed(catalog, pipeline):
    with pytest.raises(Forbidden):
        timeline.changes(catalog, pipeline)


def _history(catalog, admin, seed: int, steps: int = 30) -> dict[int, CatalogIndex]:
    rng = random.Random(seed)
    kept = {catalog.index.revision: snapshot(catalog)}
    for step in range(steps):
        try:
            random_write(catalog, admin, rng, step)
        except (BadInput, NotFound, Conflict):
            pass
        kept[catalog.index.revision] = snapshot(catalog)
    return kept


@pytest.mark.parametrize("seed", [3, 4])
def test_continuing_from_a_snapshot_equals_a_replay_both_ways(catalog, admin, seed):
    """From every revision's index (folded from the start, as the cache holds them, and the
    live one) to every other revision, forward and backward: the same decisions as the state
    kept at that revision, and the same records as a fold from the start."""
    kept = _history(catalog, admin, seed)
    purposes = sorted({*PURPOSES, *catalog.index.taxonomy.purposes} - {"service.delivery"})
    requests = cells(purposes)
    folded = {r: timeline.build_index_at(catalog, r) for r in kept}
    bases = [*folded.values(), catalog.index]
    continued = {True: 0, False: 0}
    with catalog.engine.connect() as conn:
        for base in bases:
            for revision, expected in kept.items():
                got = timeline.continue_from(conn, base, revision)
                if got is None:  # back past a registration: only then
                    assert revision < base.revision
                    assert set(base.fields) - set(folded[revision].fields)
                    continue
                continued[base.revision <= revision] += 1
                where = f"from {base.revision} to {revision}"
                assert got.revision == revision
                assert got.check_many(requests) == expected.check_many(requests), where
                assert dict(got.fields.items()) == dict(folded[revision].fields.items()), where
                assert {(u, d, got.graph.up[d][u]) for u, d in got.graph.edges()} == {
                    (u, d, expected.graph.up[d][u]) for u, d in expected.graph.edges()}, where
    assert continued[True] > 100 and continued[False] > 20


def test_as_of_continues_from_the_live_index_and_leaves_it_alone(catalog, admin, pipeline,
                                                                 monkeypatch):
    kept = _history(catalog, admin, seed=5)
    live = catalog.index
    purposes = sorted({*PURPOSES, *live.taxonomy.purposes} - {"service.delivery"})
    requests = cells(purposes)
    now = live.check_many(requests)
    continued = []
    monkeypatch.setattr(timeline, "continue_from", lambda *a, f=timeline.continue_from:
                        continued.append(f(*a)) or continued[-1])
    revision = max(r for r in kept if r < live.revision)
    got = checks.check_many(catalog, pipeline, requests, as_of=AsOf(revision=revision))
    assert got == kept[revision].check_many(requests)
    assert len(continued) == 1 and continued[0] is not None  # one commit back from the live
    assert catalog.index is live
    assert live.check_many(requests) == now == snapshot(catalog).check_many(requests)
    # A later write: its answers are those of a fresh index (no historical verdict in them).
    fields.grant_purpose(catalog, admin, NAMES[-1], Grant("marketing", ("email",)))
    assert checks.check_many(catalog, pipeline, requests) == snapshot(catalog).check_many(
        requests)


@pytest.mark.parametrize("transform", [None, "dedupe", 'x "transform":null, y', "null", ""])
def test_an_edge_entry_gives_its_transform(transform):
    from catalog.db.records import edge_json
    from catalog.db.repo import _dump
    entry = _dump(edge_json(Edge("crm.t.a", "crm.t.b", transform)))
    assert timeline._transform(entry) == transform
