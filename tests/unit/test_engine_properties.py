"""Property tests of the decision engine (hypothesis, small random catalogs):

1. the incrementally maintained index equals a full rebuild after any sequence of writes;
2. adding a DENY rule never turns a deny into an allow;
3. removing a grant never turns a deny into an allow, except where §5 step 3 says it must (a
   more general grant on the same field takes over as the governing grant);
4. check_many equals check.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import networkx as nx
from engine_helpers import (
    RULES_SPEC,
    E,
    F,
    G,
    seed_rules,
    sig,
    taxonomy_from_spec,
)
from engine_reference import key_covers
from engine_strategies import (
    CATEGORIES,
    CELLS,
    CHANNELS,
    PURPOSES,
    SOURCES,
    SPEC,
    TAXONOMY,
    channel_lists,
    consents,
    extra_rules,
    grant_sets,
    name_of,
    rule_specs,
    worlds,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.domain.index import RAW_STYLES, CatalogIndex, note_raw_style, raw_keys
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.errors import BadInput, CatalogError, Conflict, NotFound

PROPS = settings(max_examples=120, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

cell_samples = st.lists(st.sampled_from(CELLS), min_size=1, max_size=30, unique=True)


def taxonomy_variant(i: int):
    """The extended taxonomy with the same keys but other sensitivities."""
    if i == 0:
        return TAXONOMY
    spec = copy.deepcopy(SPEC)
    if i == 1:
        spec["categories"]["internal.preferences"] = {"sensitivity": 4}
        spec["categories"]["tracking.location"] = {"sensitivity": 2}
        spec["categories"]["tracking.location.precise"] = {}
    else:
        for k, v in spec["categories"].items():
            if "." not in k:
                v["sensitivity"] = 1
            else:
                v.pop("sensitivity", None)
    return taxonomy_from_spec(spec)


TAXONOMIES = [taxonomy_variant(i) for i in range(3)]


# -- 1. incremental == rebuild -----------------------------------------------------------------
POOL = ["a", "b", "c", "d", "e", "B", "a.b", "aa"]
labels = st.sampled_from(POOL)
field_attrs = st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(SOURCES), grant_sets(),
                        st.sampled_from([False, False, False, True]))
transforms = st.sampled_from([None, "copy", "hash"])
# An edge end: mostly an existing field (by position), sometimes any name of the pool.
ends = st.one_of(st.integers(0, 63).map(lambda k: ("at", k)),
                 st.integers(0, 63).map(lambda k: ("at", k)),
                 labels.map(lambda lab: ("name", lab)))
edge_batches = st.lists(st.tuples(ends, ends, transforms), min_size=1, max_size=3)
ops = st.one_of(
    st.tuples(st.just("register"), st.lists(st.tuples(labels, field_attrs), min_size=1,
                                             max_size=3, unique_by=lambda t: t[0])),
    st.tuples(st.just("edges"), edge_batches),
    st.tuples(st.just("edges"), edge_batches),
    st.tuples(st.just("unedge"), st.integers(0, 63)),
    st.tuples(st.just("unedge"), st.integers(0, 63)),
    st.tuples(st.just("unedge_by_name"), ends, ends),
    st.tuples(st.just("deprecate"), ends, st.booleans()),
    st.tuples(st.just("grant"), ends, st.sampled_from(PURPOSES), channel_lists, consents),
    st.tuples(st.just("revoke"), ends, st.sampled_from(PURPOSES)),
    st.tuples(st.just("rules"), st.sets(st.sampled_from(sorted(RULES_SPEC))), extra_rules()),
    st.tuples(st.just("taxonomy"), st.integers(0, len(TAXONOMIES) - 1)),
)


class Model:
    """The catalog state as plain data, rebuilt into a fresh index on demand."""

    def __init__(self) -> None:
        self.fields: dict[str, FieldRecord] = {}
        self.edges: dict[tuple[str, str], str | None] = {}
        self.rules = seed_rules(TAXONOMY)
        self.taxonomy = TAXONOMY

    def rebuild(self, revision: int) -> CatalogIndex:
        return CatalogIndex.build(self.taxonomy, self.rules, list(self.fields.values()),
                                  [Edge(u, d, t) for (u, d), t in self.edges.items()],
                                  revision=revision)

    def expected_edge_error(self, batch: list[Edge]) -> type | None:
        """What validating this batch must raise, worked out on networkx from §5."""
        g = nx.DiGraph(list(self.edges))
        g.add_nodes_from(self.fields)
        for e in batch:
            if e.upstream not in self.fields or e.downstream not in self.fields:
                return NotFound
            if e.upstream == e.downstream:
                return BadInput
            if nx.has_path(g, e.downstream, e.upstream):
                return Conflict
            g.add_edge(e.upstream, e.downstream)
        return None


def run_op(op, model: Model, index: CatalogIndex, rev: int) -> CatalogIndex:
    """Apply op to the model and the index; the index's next snapshot."""
    kind = op[0]
    names = sorted(model.fields) or [name_of("a")]

    def resolve(end):
        return names[end[1] % len(names)] if end[0] == "at" else name_of(end[1])
    if kind == "register":
        recs = [FieldRecord(name_of(lab), cat, src, "team", deprecated=dep, grants=grants)
                for lab, (cat, src, grants, dep) in op[1]]
        for r in recs:
            model.fields[r.name] = r
        index = index.apply(fields=recs, revision=rev)
    elif kind == "edges":
        batch = [Edge(resolve(u), resolve(d), t) for u, d, t in op[1]]
        want = model.expected_edge_error(batch)
        before = set(index.graph.edges())
        try:
            index.validate_new_edges(batch)
        except CatalogError as err:
            assert type(err) is want, (batch, err)
            assert set(index.graph.edges()) == before
            if want is Conflict:
                assert "cycle" in err.message
            index = index.apply(revision=rev)
            return index
        assert want is None, (batch, want)
        for e in batch:
            model.edges[(e.upstream, e.downstream)] = e.transform
        index = index.apply(add_edges=batch, revision=rev)
    elif kind == "unedge" and model.edges:
        u, d = sorted(model.edges)[op[1] % len(model.edges)]
        model.edges.pop((u, d))
        index = index.apply(remove_edges=[(u, d)], revision=rev)
    elif kind in ("unedge", "unedge_by_name"):
        u, d = (resolve(op[1]), resolve(op[2])) if kind == "unedge_by_name" else ("", "")
        if u in model.fields and d in model.fields:
            model.edges.pop((u, d), None)
            index = index.apply(remove_edges=[(u, d)], revision=rev)
        else:  # the services refuse it (NOT_FOUND); the index is never asked
            index = index.apply(revision=rev)
    elif kind in ("deprecate", "grant", "revoke"):
        name = resolve(op[1])
        rec = model.fields.get(name)
        if rec is None:
            index = index.apply(revision=rev)
            return index
        if kind == "deprecate":
            rec = replace(rec, deprecated=op[2])
        elif kind == "grant":
            grants = {g.purpose: g for g in rec.grants}
            grants[op[2]] = Grant(op[2], op[3], op[4])
            rec = replace(rec, grants=tuple(grants[p] for p in sorted(grants)))
        else:
            rec = replace(rec, grants=tuple(g for g in rec.grants if g.purpose != op[2]))
        model.fields[name] = rec
        index = index.apply(fields=[rec], revision=rev)
    elif kind == "rules":
        specs = {k: RULES_SPEC[k] for k in op[1]} | op[2]
        model.rules = seed_rules(TAXONOMY, specs)
        index = index.apply(rules=model.rules, revision=rev)
    elif kind == "taxonomy":
        model.taxonomy = TAXONOMIES[op[1]]
        index = index.apply(taxonomy=model.taxonomy, revision=rev)
    else:  # pragma: no cover
        raise AssertionError(op)
    return index


def assert_same(index: CatalogIndex, fresh: CatalogIndex, names, cells) -> None:
    for name in names:
        for p, c in cells:
            assert index.check(name, p, c) == fresh.check(name, p, c), (name, p, c)


def assert_same_structure(index: CatalogIndex, fresh: CatalogIndex, model: Model) -> None:
    assert index.fields == model.fields
    assert set(index.graph.edges()) == set(model.edges)
    for name in model.fields:
        assert index.effective_categories(name) == fresh.effective_categories(name)
        assert index.effective_sources(name) == fresh.effective_sources(name)
        assert index.sensitivity(name) == fresh.sensitivity(name)
        assert index.upstream(name) == fresh.upstream(name)
        assert index.downstream(name) == fresh.downstream(name)
        assert index.lineage(name, "BOTH", 10) == fresh.lineage(name, "BOTH", 10)


initial = st.tuples(
    st.just("register"),
    st.lists(st.tuples(labels, field_attrs), min_size=3, max_size=len(POOL),
             unique_by=lambda t: t[0]))
initial_edges = st.tuples(st.just("edges"), st.lists(st.tuples(ends, ends, transforms),
                                                     min_size=1, max_size=1))


@PROPS
@given(initial, st.lists(initial_edges, max_size=10), st.lists(ops, min_size=2, max_size=15),
       cell_samples)
def test_incremental_index_equals_rebuild(first, edge_ops, op_list, cells):
    model = Model()
    index = CatalogIndex(TAXONOMY, model.rules, revision=0)
    probe = cells[:6]
    # Seed fields and edges first (edge batches that turn out invalid are refused), then any
    # writes at all.
    for rev, op in enumerate([first, *edge_ops, *op_list], start=1):
        index = run_op(op, model, index, rev)
        assert index.revision == rev
        assert index.graph.is_topological()
        fresh = model.rebuild(rev)
        # Ask after every write, so stale cached verdicts would show (now or later).
        assert_same(index, fresh, [*model.fields, "db.t.none"], probe)
    fresh = model.rebuild(index.revision)
    assert_same_structure(index, fresh, model)
    # Every purpose and every channel, without asking all 228 cells of every example.
    assert_same(index, fresh, model.fields, sorted({*cells, *CELLS[::7], *CELLS[3::11]}))


def test_incremental_taxonomy_change_recomputes_rule_matches(taxonomy, rules):
    """Regression: rule hits are cached per (categories, sources, purpose, channel); a new
    taxonomy that changes a sensitivity must not reuse them."""
    from engine_helpers import TAXONOMY_SPEC

    index = CatalogIndex.build(taxonomy, rules, [F("crm.c.pref")], [], revision=1)
    assert index.check("crm.c.pref", "marketing.direct", "email").allowed
    spec = copy.deepcopy(TAXONOMY_SPEC)
    spec["categories"]["internal.preferences"] = {"sensitivity": 4}
    index = index.apply(taxonomy=taxonomy_from_spec(spec), revision=2)
    d = index.check("crm.c.pref", "marketing.direct", "email")
    assert [r.rule for r in d.reasons] == ["boudoir-topics"]
    assert index.sensitivity("crm.c.pref") == 4


# -- 2. a DENY rule only ever adds denials -----------------------------------------------------
@PROPS
@given(worlds(), rule_specs(), cell_samples)
def test_adding_a_deny_rule_never_allows_more(world, spec, cells):
    spec = {**spec, "effect": "DENY"}
    index = world.index()
    names = list(world.fields)
    before = {(n, p, c): sig(index.check(n, p, c)) for n in names for p, c in cells}
    rules = seed_rules(TAXONOMY, world.rules) + seed_rules(TAXONOMY, {"m-new-rule": spec})
    index = index.apply(rules=rules, revision=2)
    for key, (allowed, reasons, obligations, cats) in before.items():
        a2, r2, o2, c2 = sig(index.check(*key))
        assert not (a2 and not allowed), key
        assert set(reasons) <= set(r2), key
        assert set(r2) - set(reasons) <= {("POLICY_DENIED", "m-new-rule", None)}, key
        assert (o2, c2) == (obligations, cats), key


# -- 3. removing a grant --------------------------------------------------------------------
@PROPS
@given(worlds(with_extra_rules=False), st.data(), cell_samples)
def test_removing_a_grant_never_allows_more(world, data, cells):
    holders = [n for n, r in world.fields.items() if r.grants]
    if not holders:
        return
    x = data.draw(st.sampled_from(sorted(holders)), label="field losing a grant")
    rec = world.fields[x]
    g = data.draw(st.sampled_from(rec.grants), label="grant removed")
    index = world.index()
    names = list(world.fields)
    before = {(n, p, c): index.check(n, p, c).allowed for n in names for p, c in cells}
    index = index.apply(fields=[replace(rec, grants=tuple(h for h in rec.grants if h is not g))],
                revision=2)
    graph = nx.DiGraph(list(world.edges))
    fallback = [h for h in rec.grants if h is not g and key_covers(h.purpose, g.purpose)]
    for (n, p, c), was_allowed in before.items():
        now = index.check(n, p, c).allowed
        if now and not was_allowed:
            # Only possible where g governed (P, C) on x and failed C, and a more general grant
            # of x takes over and covers C (the most specific grant governs).
            assert x == n or x in nx.ancestors(graph, n), (n, p, c)
            assert key_covers(g.purpose, p) and not g.covers_channel(c), (n, p, c)
            assert fallback, (n, p, c)


@PROPS
@given(worlds(with_extra_rules=False), st.data(), cell_samples)
def test_removing_an_unshadowed_grant_upstream_never_allows_more(world, data, cells):
    """Removing a grant that no more general grant backs up is strictly monotone."""
    holders = [(n, g) for n, r in world.fields.items() for g in r.grants
               if not any(h is not g and key_covers(h.purpose, g.purpose) for h in r.grants)]
    if not holders:
        return
    x, g = data.draw(st.sampled_from(holders))
    rec = world.fields[x]
    index = world.index()
    before = {(n, p, c): sig(index.check(n, p, c)) for n in world.fields for p, c in cells}
    index = index.apply(fields=[replace(rec, grants=tuple(h for h in rec.grants if h is not g))],
                revision=2)
    for key, old in before.items():
        new = sig(index.check(*key))
        assert not (new[0] and not old[0]), key
        assert new[3] == old[3]  # categories do not depend on grants


def test_revoking_a_narrowing_grant_can_widen(make_index):
    """The flip side of "the most specific grant governs": marketing.direct [email] narrows
    marketing; once it is revoked, marketing (all channels) governs marketing.direct."""
    index = make_index([F("crm.c.x", grants=[G("marketing"), G("marketing.direct", ["email"])])])
    assert not index.check("crm.c.x", "marketing.direct", "push").allowed
    index = index.apply(fields=[F("crm.c.x", grants=[G("marketing")])], revision=2)
    assert index.check("crm.c.x", "marketing.direct", "push").allowed


# -- 4. check_many == check -----------------------------------------------------------------
@settings(PROPS, max_examples=80)
@given(worlds(), st.data())
def test_check_many_equals_check(world, data):
    names = [*world.fields, "", "db.t.none", "DB.T.A"]
    requests = data.draw(st.lists(
        st.tuples(st.sampled_from(names), st.sampled_from([*PURPOSES, "", "nope", "Marketing"]),
                  st.sampled_from([*CHANNELS, "", "nope"])), max_size=40))
    many = world.index(revision=3).check_many(requests)
    single = world.index(revision=3)
    assert many == [single.check(*r) for r in requests]
    assert len(many) == len(requests)
    assert [(d.field, d.purpose, d.channel) for d in many] == requests
    # And on one index, with warm caches either way round.
    index = world.index(revision=3)
    singles = [index.check(*r) for r in requests]
    assert index.check_many(requests) == singles
    assert index.check_many(iter(requests)) == singles


def test_check_many_empty_and_duplicates(make_index):
    index = make_index([F("crm.c.x")])
    assert index.check_many([]) == []
    reqs = [("crm.c.x", "service", "email")] * 3 + [("nope.no.no", "service", "email")]
    out = index.check_many(reqs)
    assert [d.allowed for d in out] == [True, True, True, False]


def test_check_many_flat_lookup_follows_snapshots(make_index, monkeypatch):
    """check_many's per-snapshot lookup answers what check answers on that snapshot: after a
    write, from the next snapshot at its revision; unknown names are answered, never kept;
    lists work as requests; the lookup is bounded."""
    import catalog.domain.index as index_module

    fields = [F("crm.c.a", grants=[G("service")]), F("crm.c.b")]
    index = make_index(fields, [E("crm.c.a", "crm.c.b")])
    reqs = [("crm.c.a", "service", "email"), ("crm.c.b", "service", "email"),
            ("nope.no.no", "service", "email"), ("crm.c.a", "nope", "email")]
    first = index.check_many(reqs)
    assert index.check_many(reqs) == first == [index.check(*r) for r in reqs]
    assert index.check_many([list(r) for r in reqs]) == first
    tuples = {k for k in index._flat if isinstance(k, tuple)}
    assert tuples == set(reqs[:2])
    # ... and under the JSON bytes of each request style seen (api/graphql/lean_raw.py)
    assert set(index._flat) - tuples == {key for r in reqs[:2] for key in raw_keys(*r)}
    nxt = index.apply(fields=[F("crm.c.a", grants=[])], revision=index.revision + 1)
    again = nxt.check_many(reqs)
    assert again == [nxt.check(*r) for r in reqs]
    assert [d.allowed for d in again[:2]] == [False, False]
    assert {d.revision for d in again} == {nxt.revision}
    assert index.check_many(reqs) == first  # the old snapshot still answers as it did
    monkeypatch.setattr(index_module, "MAX_FLAT", 1)
    small = make_index(fields, [E("crm.c.a", "crm.c.b")])
    assert small.check_many(reqs) == first
    assert len(small._flat) <= 1 + len(index_module._raw_seen)


def test_check_many_raw_answers_only_what_check_many_kept(make_index):
    """The raw lookup finds a request's decision under the exact bytes each style writes it
    in, and answers nothing unless it finds every request of the batch."""
    for separator in RAW_STYLES:
        note_raw_style(separator)
    fields = [F("crm.c.a", grants=[G("service")]), F("crm.c.b")]
    index = make_index(fields, [E("crm.c.a", "crm.c.b")])
    reqs = [("crm.c.a", "service", "email"), ("crm.c.b", "service", "email")]
    assert index.check_many_raw([raw_keys(*r)[0] for r in reqs]) is None  # nothing asked yet
    decisions = index.check_many(reqs + [("nope.no.no", "service", "email")])
    for style in range(2):
        pieces = [raw_keys(*r)[style] for r in reqs]
        assert index.check_many_raw(pieces) == decisions[:2]
        assert index.check_many_raw(pieces[::-1]) == decisions[1::-1]
    assert index.check_many_raw([raw_keys("nope.no.no", "service", "email")[0]]) is None
    compact = b'crm.c.a","purpose":"service","channel":"email'
    assert index.check_many_raw([compact]) == decisions[:1]
    for near in (compact + b" ", compact.replace(b"a", b"\\u0061", 1), b'"' + compact + b'"'):
        assert index.check_many_raw([compact, near]) is None
    nxt = index.apply(fields=[F("crm.c.a", grants=[])], revision=index.revision + 1)
    assert nxt.check_many_raw([compact]) is None  # a new snapshot keeps nothing of the old


def test_new_rules_replace_cached_verdicts(make_index):
    index = make_index([F("crm.c.x"), F("crm.c.y")], [E("crm.c.x", "crm.c.y")])
    assert index.check("crm.c.y", "analytics.aggregate", "web").allowed  # now cached
    rule = seed_rules(TAXONOMY, {"no-analytics": {"effect": "DENY",
                                                 "purposes": ["analytics"]}})
    index = index.apply(rules=rule, revision=2)
    d = index.check("crm.c.y", "analytics.aggregate", "web")
    assert [r.rule for r in d.reasons] == ["no-analytics"] and d.revision == 2
    index = index.apply(rules=[], revision=3)
    assert index.check("crm.c.y", "analytics.aggregate", "web").allowed


def test_write_upstream_replaces_cached_verdicts_downstream(make_index):
    index = make_index([F("crm.c.x"), F("crm.c.y"), F("crm.c.z")],
                       [E("crm.c.x", "crm.c.y"), E("crm.c.y", "crm.c.z")])
    assert index.check("crm.c.z", "marketing", "web").allowed  # now cached
    index = index.apply(fields=[F("crm.c.x", grants=[G("service")])], revision=2)
    d = index.check("crm.c.z", "marketing", "web")
    assert [r.path for r in d.reasons] == [("crm.c.z", "crm.c.y", "crm.c.x")]
    # Only the grant's message changes (same masks): the cached verdict must still go.
    index = index.apply(fields=[F("crm.c.x", grants=[G("marketing", ["email"])])], revision=3)
    msg = index.check("crm.c.z", "marketing", "web").reasons[0].message
    before = index.check("crm.c.z", "marketing.direct", "web").reasons[0].message
    assert "grant marketing on crm.c.x" in before
    index = index.apply(fields=[F("crm.c.x", grants=[G("marketing", ["email"]),
                                             G("marketing.direct", ["email"])])], revision=4)
    assert index.check("crm.c.z", "marketing", "web").reasons[0].message == msg
    after = index.check("crm.c.z", "marketing.direct", "web").reasons[0].message
    assert "grant marketing.direct on crm.c.x" in after


def test_bounded_cache_still_answers_right(make_index, monkeypatch):
    """When the verdict cache is full it is dropped, never served stale or half."""
    import catalog.domain.index as index_module

    fields = [F("crm.c.a", grants=[G("service")]), F("crm.c.b"), F("crm.c.c")]
    edges = [E("crm.c.a", "crm.c.b"), E("crm.c.b", "crm.c.c")]
    requests = [(f.name, p, c) for f in fields for p, c in CELLS[::9]] * 2
    big = make_index(fields, edges)
    want = [big.check(*r) for r in requests]
    monkeypatch.setattr(index_module, "MAX_CACHED", 5)
    small = make_index(fields, edges)
    assert [small.check(*r) for r in requests] == want
    assert sum(len(n.verdicts or ()) for n in small._nodes.values()) <= 5
    small = small.apply(fields=[F("crm.c.a")], revision=2)
    assert small.check("crm.c.c", "marketing", "web").allowed


def test_new_edge_replaces_cached_unclassified_path(make_index):
    """unclassified-data names the lineage path to the field to classify (found by hypothesis:
    a cached verdict kept the longer path after a shorter one appeared)."""
    index = make_index([F("db.t.raw", category="unclassified"), F("db.t.mid"), F("db.t.top"),
                        F("db.t.out")],
                       [E("db.t.raw", "db.t.mid"), E("db.t.mid", "db.t.top"),
                        E("db.t.top", "db.t.out")])
    path = "db.t.out -> db.t.top -> db.t.mid -> db.t.raw"
    assert f"(via {path})" in index.check("db.t.out", "service", "web").reasons[-1].message
    index.validate_new_edges([E("db.t.raw", "db.t.top")])
    index = index.apply(add_edges=[E("db.t.raw", "db.t.top")], revision=2)
    reason = index.check("db.t.out", "service", "web").reasons[-1]
    assert reason.rule == "unclassified-data"
    assert "(via db.t.out -> db.t.top -> db.t.raw)" in reason.message


def test_new_fields_downstream_keep_the_cached_unclassified_paths(make_index, monkeypatch):
    """An ingested event registers new fields with edges from existing ones: nothing above any
    existing field changes, so their cached verdicts citing ancestors stay (checks while events
    stream in); an edge into an existing field drops them."""
    import catalog.domain.index as index_module
    index = make_index([F("db.t.raw", category="unclassified"), F("db.t.out")],
                       [E("db.t.raw", "db.t.out")])
    first = index.check("db.t.out", "service", "web")
    decided = []
    real = index_module.CatalogIndex._decide
    monkeypatch.setattr(index_module.CatalogIndex, "_decide",
                        lambda self, *a: decided.append(a[0].name) or real(self, *a))
    new = [F("db.t.new", category="unclassified"), F("db.t.newer")]
    edges = [E("db.t.raw", "db.t.new"), E("db.t.new", "db.t.newer")]
    index.validate_new_edges(edges, pending={f.name: f for f in new})
    index = index.apply(fields=new, add_edges=edges, revision=2)
    again = index.check("db.t.out", "service", "web")
    assert decided == [] and again == replace(first, revision=2)
    assert "(via db.t.newer -> db.t.new -> db.t.raw)" in \
        index.check("db.t.newer", "service", "web").reasons[-1].message
    index = index.apply(add_edges=[E("db.t.new", "db.t.out")], revision=3)
    decided.clear()
    index.check("db.t.out", "service", "web")
    assert decided == ["db.t.out"]
