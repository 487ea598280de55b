"""The engine against an independent brute-force implementation of docs/semantics.md §3
(engine_reference.py) on random DAGs, grants and rules: every field x purpose x channel."""

from __future__ import annotations

from engine_helpers import RULES_SPEC, F, G, sig
from engine_reference import RefCatalog, key_covers
from engine_strategies import CELLS, PROBES, World, worlds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.domain.model import FieldRecord

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_matches_reference(world: World, cells=CELLS) -> None:
    index = world.index(revision=5)
    ref = world.reference()
    for name in world.fields:
        for p, c in cells:
            got = index.check(name, p, c)
            want = ref.check(name, p, c)
            assert sig(got) == want, (name, p, c)
            assert got.allowed == (not got.reasons)
            assert (got.field, got.purpose, got.channel, got.revision) == (name, p, c, 5)
    for f, p, c in PROBES:
        got, want = index.check(f, p, c), ref.check(f, p, c)
        assert sig(got)[:3] == want[:3], (f, p, c)
    # Effective attributes through the accessors as well.
    for name in world.fields:
        cats, sources = ref.effective(name)
        assert index.effective_categories(name) == tuple(sorted(cats))
        assert index.effective_sources(name) == tuple(sorted(sources))
        assert index.sensitivity(name) == max(ref.sensitivity_of(k) for k in cats)
        assert set(index.upstream(name)) == set(ref.graph.pred[name])
        assert set(index.downstream(name)) == set(ref.graph.succ[name])


# Each example checks every field on a random sample of the 228 (purpose, channel) cells
# (all of them would be ~0.3 s an example); over the run every cell comes up many times.
cell_samples = st.lists(st.sampled_from(CELLS), min_size=1, max_size=36, unique=True)


@FAST
@given(worlds(), cell_samples)
def test_engine_equals_reference_on_random_dags(world, cells):
    assert_matches_reference(world, cells)


@settings(max_examples=3, deadline=None)
@given(worlds())
def test_engine_equals_reference_every_cell(world):
    assert_matches_reference(world)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(max_nodes=12, with_extra_rules=False), cell_samples, st.data())
def test_engine_equals_reference_on_dense_ties(world, cells, data):
    """Force the tie-breaking case: every node also feeds a random later node, so shortest
    paths of equal length abound."""
    names = list(world.fields)
    for j in range(2, len(names)):
        for i in data.draw(st.lists(st.integers(0, j - 1), max_size=2, unique=True)):
            world.edges.setdefault((names[i], names[j]), None)
    assert_matches_reference(world, cells)


# -- the reference itself, on the worked examples of the contract ---------------------------
def test_reference_key_coverage():
    assert key_covers("marketing", "marketing.direct")
    assert key_covers("marketing", "marketing")
    assert not key_covers("marketing.direct", "marketing")
    assert not key_covers("market", "marketing")
    assert not key_covers("service", "servicex.a")


def test_reference_and_engine_agree_on_handmade_catalog():
    fields = {
        "crm.c.email": F("crm.c.email", category="tracking.contact",
                         grants=[G("marketing", ["email"]), G("marketing.direct", ["sms"]),
                                 G("service"), G("sharing", consent=True)]),
        "med.x.preg": F("med.x.preg", category="external.health",
                        grants=[G("service"), G("analytics")]),
        "ext.b.inc": F("ext.b.inc", category="financial.income", source="third_party"),
        "dwh.m.score": F("dwh.m.score", source="derived"),
    }
    world = World(rules=dict(RULES_SPEC), fields=fields,
                  edges={("crm.c.email", "dwh.m.score"): None, ("med.x.preg", "dwh.m.score"): None,
                         ("ext.b.inc", "crm.c.email"): "join"})
    assert_matches_reference(world)
    ref = world.reference()
    allowed, reasons, obligations, cats = ref.check("dwh.m.score", "sharing.sale", "sms")
    assert not allowed
    assert [r[0] for r in reasons] == ["UPSTREAM_NOT_PERMITTED", "POLICY_DENIED",
                                       "POLICY_DENIED"]
    assert obligations == ("CONSENT_REQUIRED",)


def test_reference_paths_are_lexicographic_among_shortest():
    fields = {n: FieldRecord(n, "internal", "first_party", "o") for n in
              ("d.d.a", "d.d.f", "d.d.m1", "d.d.m2", "d.d.p1", "d.d.p2")}
    ref = RefCatalog(categories={"internal": 2}, purposes={"x"}, channels={"y"}, rules={},
                     fields=fields, edges={("d.d.a", "d.d.p1"), ("d.d.a", "d.d.p2"),
                                           ("d.d.p2", "d.d.m1"), ("d.d.p1", "d.d.m2"),
                                           ("d.d.m1", "d.d.f"), ("d.d.m2", "d.d.f")})
    assert ref.path_to("d.d.f", "d.d.a") == ("d.d.f", "d.d.m1", "d.d.p2", "d.d.a")
    assert ref.check("d.d.f", "x", "y")[1] == (
        ("PURPOSE_NOT_GRANTED", None, None),
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m1")),
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m1", "d.d.p2")),
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m1", "d.d.p2", "d.d.a")),
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m2")),
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m2", "d.d.p1")),
    )
