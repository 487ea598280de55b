"""docs/semantics.md §3 (steps 4-5) on larger graphs (chain, diamond, fan-in), the DAG guard
(cycles, self-loops, unknown fields, batches) and lineage() traversal."""

from __future__ import annotations

import re

import pytest
from engine_helpers import E, F, G, codes, reasons

from catalog.errors import BadInput, Conflict, NotFound


def n(i: int) -> str:
    return f"dwh.chain.n{i:02d}"


# -- a 20-deep chain ------------------------------------------------------------------------
@pytest.fixture
def chain(make_index):
    """n00 -> n01 -> ... -> n19: n00 grants only service and is health data."""
    fields = [F(n(0), category="external.health", grants=[G("service"), G("analytics")])]
    fields += [F(n(i), category=f"historical.{['purchases', 'browsing'][i % 2]}")
               for i in range(1, 20)]
    return make_index(fields, [E(n(i), n(i + 1), f"step{i}") for i in range(19)])


def test_chain_upstream_path_is_complete(chain):
    d = chain.check(n(19), "marketing.direct", "email")
    path = tuple(n(i) for i in range(19, -1, -1))
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, path),
                          ("POLICY_DENIED", "boudoir-topics", None)]
    assert len(d.reasons[0].path) == 20
    assert d.reasons[0].path[0] == n(19) and d.reasons[0].path[-1] == n(0)


def test_chain_effective_attributes_reach_the_end(chain):
    assert chain.effective_categories(n(19)) == ("external.health", "historical.browsing",
                                                 "historical.purchases")
    assert chain.sensitivity(n(19)) == 4
    assert chain.effective_categories(n(1)) == ("external.health", "historical.browsing")
    assert chain.effective_categories(n(0)) == ("external.health",)
    assert chain.check(n(19), "analytics.aggregate", "email").allowed


def test_chain_one_reason_per_failing_ancestor(chain):
    chain = chain.apply(fields=[F(n(7), grants=[G("service")]), F(n(13), grants=[G("service")])],
                revision=2)
    d = chain.check(n(19), "service", "email")
    assert d.allowed
    d = chain.check(n(19), "analytics", "email")
    ups = [r.path for r in d.reasons if r.code.value == "UPSTREAM_NOT_PERMITTED"]
    assert ups == [tuple(n(i) for i in range(19, 12, -1)),
                   tuple(n(i) for i in range(19, 6, -1))]  # sorted as lists: n13 < n07 here


def test_chain_fix_at_the_root_propagates(chain):
    assert not chain.check(n(19), "personalization", "email").allowed
    chain = chain.apply(fields=[F(n(0), category="internal.preferences")], revision=2)
    assert chain.check(n(19), "personalization", "email").allowed
    assert chain.sensitivity(n(19)) == 2


# -- diamonds ---------------------------------------------------------------------------------
def test_diamond_lexicographically_smallest_shortest_path(make_index):
    #      a.s.b
    #     /     \
    # a.s.z      a.s.f        (z upstream, f downstream)
    #     \     /
    #      a.s.c
    fields = [F("a.s.z", grants=[G("service")]), F("a.s.b"), F("a.s.c"), F("a.s.f")]
    index = make_index(fields, [E("a.s.z", "a.s.c"), E("a.s.z", "a.s.b"),
                                E("a.s.c", "a.s.f"), E("a.s.b", "a.s.f")])
    d = index.check("a.s.f", "marketing", "email")
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, ("a.s.f", "a.s.b", "a.s.z"))]


def test_shortest_path_wins_over_lexicographic(make_index):
    # f <- z directly, and f <- a <- z: (f, a, z) < (f, z) as lists, but it is longer.
    fields = [F("t.t.z", grants=[]), F("t.t.a"), F("t.t.f")]
    index = make_index(fields, [E("t.t.z", "t.t.a"), E("t.t.a", "t.t.f"), E("t.t.z", "t.t.f")])
    assert reasons(index.check("t.t.f", "service", "web")) == [
        ("UPSTREAM_NOT_PERMITTED", None, ("t.t.f", "t.t.z"))]


def test_lexicographic_order_decided_by_first_difference(make_index):
    # Two shortest paths: f <- m1 <- p2 <- a and f <- m2 <- p1 <- a. The smaller list is the
    # one through m1, although its second hop (p2) is the larger name.
    fields = [F(x) for x in ("d.d.m1", "d.d.m2", "d.d.p1", "d.d.p2", "d.d.f")]
    fields.append(F("d.d.a", grants=[G("service")]))
    edges = [E("d.d.a", "d.d.p1"), E("d.d.a", "d.d.p2"), E("d.d.p2", "d.d.m1"),
             E("d.d.p1", "d.d.m2"), E("d.d.m1", "d.d.f"), E("d.d.m2", "d.d.f")]
    index = make_index(fields, edges)
    assert reasons(index.check("d.d.f", "marketing", "web")) == [
        ("UPSTREAM_NOT_PERMITTED", None, ("d.d.f", "d.d.m1", "d.d.p2", "d.d.a"))]


def test_diamond_counts_the_shared_ancestor_once(make_index):
    fields = [F("a.s.z", category="tracking.cross_site", source="third_party", grants=[]),
              F("a.s.b"), F("a.s.c"), F("a.s.f")]
    index = make_index(fields, [E("a.s.z", "a.s.b"), E("a.s.z", "a.s.c"),
                                E("a.s.b", "a.s.f"), E("a.s.c", "a.s.f")])
    d = index.check("a.s.f", "marketing", "email")
    assert reasons(d) == [
        ("UPSTREAM_NOT_PERMITTED", None, ("a.s.f", "a.s.b", "a.s.z")),
        ("POLICY_DENIED", "digging-too-deep", None),
        ("POLICY_DENIED", "digging-too-deep-cross-site", None)]
    assert d.effective_categories == ("internal.preferences", "tracking.cross_site")


# -- wide fan-in ------------------------------------------------------------------------------
FAILING = {3: "purpose", 42: "channel", 77: "purpose", 150: "channel", 199: "purpose"}


def p(i: int) -> str:
    return f"src.wide.p{i:03d}"


@pytest.fixture
def fan_in(make_index):
    fields = [F("mart.wide.all", source="derived")]
    for i in range(200):
        kind = FAILING.get(i)
        grants = ([G("service")] if kind == "purpose" else
                  [G("marketing", ["sms"])] if kind == "channel" else [G("marketing")])
        fields.append(F(p(i), category=["historical.purchases", "tracking.device",
                                        "professional.education"][i % 3], grants=grants))
    return make_index(fields, [E(p(i), "mart.wide.all") for i in range(200)])


def test_fan_in_one_reason_per_failing_ancestor(fan_in):
    d = fan_in.check("mart.wide.all", "marketing.direct", "email")
    assert reasons(d) == [("UPSTREAM_NOT_PERMITTED", None, ("mart.wide.all", p(i)))
                          for i in sorted(FAILING)]
    assert d.effective_categories == ("historical.purchases", "internal.preferences",
                                      "professional.education", "tracking.device")
    assert fan_in.effective_sources("mart.wide.all") == ("derived", "first_party")


def test_fan_in_all_pass_for_granted_cell(fan_in):
    # p042/p150 allow sms for marketing, and the rest allow everything: only the purpose
    # failures remain.
    d = fan_in.check("mart.wide.all", "marketing", "sms")
    assert [r.path[-1] for r in d.reasons] == [p(3), p(77), p(199)]


def test_fan_in_with_shared_grandparent(make_index):
    """200 parents share one failing grandparent: one reason, through the smallest parent."""
    fields = [F("mart.wide.all"), F("raw.base.root", grants=[])]
    fields += [F(p(i)) for i in range(200)]
    edges = [E("raw.base.root", p(i)) for i in range(199, -1, -1)]
    edges += [E(p(i), "mart.wide.all") for i in range(200)]
    index = make_index(fields, edges)
    assert reasons(index.check("mart.wide.all", "service", "web")) == [
        ("UPSTREAM_NOT_PERMITTED", None, ("mart.wide.all", p(0), "raw.base.root"))]


# -- the DAG guard ----------------------------------------------------------------------------
@pytest.fixture
def abc(make_index):
    return make_index([F("g.g.a"), F("g.g.b"), F("g.g.c"), F("g.g.d")],
                      [E("g.g.a", "g.g.b"), E("g.g.b", "g.g.c")])


def cycle_in(message: str) -> list[str]:
    """The 'a -> ... -> a' path a cycle error shows."""
    chains = [m.rstrip(";,.:").split(" -> ")
              for m in re.findall(r"\S+(?: -> \S+)+", message)]
    cycles = [c for c in chains if c[0] == c[-1]]
    assert cycles, f"no 'a -> ... -> a' path in {message!r}"
    return cycles[0]


def test_cycle_refused_with_path(abc):
    with pytest.raises(Conflict) as err:
        abc.validate_new_edges([E("g.g.c", "g.g.a")])
    assert err.value.code == "CONFLICT"
    assert "cycle" in err.value.message
    cyc = cycle_in(err.value.message)
    assert cyc == ["g.g.c", "g.g.a", "g.g.b", "g.g.c"]
    assert cyc[0] == cyc[-1]


def test_two_cycle_refused(abc):
    with pytest.raises(Conflict) as err:
        abc.validate_new_edges([E("g.g.b", "g.g.a")])
    assert "cycle" in str(err.value)
    assert cycle_in(err.value.message) == ["g.g.b", "g.g.a", "g.g.b"]


def test_self_loop_is_bad_input(abc):
    with pytest.raises(BadInput) as err:
        abc.validate_new_edges([E("g.g.a", "g.g.a")])
    assert err.value.code == "BAD_INPUT"


@pytest.mark.parametrize("edge", [E("g.g.a", "g.g.nope"), E("g.g.nope", "g.g.a"),
                                  E("g.g.nope", "g.g.nope"), E("", "g.g.a")])
def test_edge_to_unknown_field_is_not_found(abc, edge):
    with pytest.raises(NotFound) as err:
        abc.validate_new_edges([edge])
    assert err.value.code == "NOT_FOUND"
    assert "nope" in err.value.message or "''" in err.value.message


def test_batch_forming_its_own_cycle_is_refused_and_graph_unchanged(abc):
    before = sorted(abc.graph.edges())
    batch = [E("g.g.c", "g.g.d"), E("g.g.d", "g.g.a")]  # closes a -> b -> c -> d -> a
    with pytest.raises(Conflict) as err:
        abc.validate_new_edges(batch)
    cyc = cycle_in(err.value.message)
    assert cyc[0] == cyc[-1] == "g.g.d"
    assert sorted(abc.graph.edges()) == before
    # A batch of only new fields' edges that loop among themselves.
    with pytest.raises(Conflict):
        abc.validate_new_edges([E("g.g.d", "g.g.c"), E("g.g.c", "g.g.d")])
    assert sorted(abc.graph.edges()) == before
    # And a later bad edge (unknown field) undoes the earlier good ones too.
    with pytest.raises(NotFound):
        abc.validate_new_edges([E("g.g.c", "g.g.d"), E("g.g.d", "x.x.x")])
    assert sorted(abc.graph.edges()) == before
    assert abc.upstream("g.g.d") == [] and abc.downstream("g.g.c") == []


def test_valid_batch_validates_without_changing_anything(abc):
    before = sorted(abc.graph.edges())
    abc.validate_new_edges([E("g.g.c", "g.g.d"), E("g.g.a", "g.g.d"), E("g.g.a", "g.g.b")])
    assert sorted(abc.graph.edges()) == before


def test_existing_edge_and_parallel_paths_are_not_cycles(abc):
    abc.validate_new_edges([E("g.g.a", "g.g.b"), E("g.g.a", "g.g.c")])


# -- lineage() -------------------------------------------------------------------------------
@pytest.fixture
def tree(make_index):
    """     u2a  u2b
              \\ /
         u1a  u1b          (u1b <- u2a, u2b)
            \\  /
             r             (r <- u1a, u1b)
            / \\
          d1a  d1b
           |
          d2a
           |
          d3a
    """
    names = ["l.x.r", "l.x.u1a", "l.x.u1b", "l.x.u2a", "l.x.u2b", "l.x.d1a", "l.x.d1b",
             "l.x.d2a", "l.x.d3a"]
    edges = [E("l.x.u1b", "l.x.r", "join"), E("l.x.u1a", "l.x.r"), E("l.x.u2b", "l.x.u1b"),
             E("l.x.u2a", "l.x.u1b"), E("l.x.r", "l.x.d1b"), E("l.x.r", "l.x.d1a", "copy"),
             E("l.x.d1a", "l.x.d2a"), E("l.x.d2a", "l.x.d3a")]
    return make_index([F(x) for x in names], edges)


def test_lineage_upstream(tree):
    res = tree.lineage("l.x.r", "UPSTREAM", 10)
    assert res.root == "l.x.r" and not res.partial
    assert res.nodes == ("l.x.r", "l.x.u1a", "l.x.u1b", "l.x.u2a", "l.x.u2b")
    assert set(res.edges) == {E("l.x.u1b", "l.x.r", "join"), E("l.x.u1a", "l.x.r"),
                              E("l.x.u2b", "l.x.u1b"), E("l.x.u2a", "l.x.u1b")}


def test_lineage_downstream(tree):
    res = tree.lineage("l.x.r", "DOWNSTREAM", 10)
    assert res.nodes == ("l.x.r", "l.x.d1a", "l.x.d1b", "l.x.d2a", "l.x.d3a")
    assert E("l.x.r", "l.x.d1a", "copy") in res.edges and len(res.edges) == 4
    assert not res.partial


def test_lineage_both(tree):
    res = tree.lineage("l.x.r", "BOTH", 10)
    assert res.nodes[0] == "l.x.r"
    assert set(res.nodes) == {"l.x.r", "l.x.u1a", "l.x.u1b", "l.x.u2a", "l.x.u2b",
                              "l.x.d1a", "l.x.d1b", "l.x.d2a", "l.x.d3a"}
    # Root first, then by distance, then by name.
    assert res.nodes == ("l.x.r", "l.x.d1a", "l.x.d1b", "l.x.u1a", "l.x.u1b",
                         "l.x.d2a", "l.x.u2a", "l.x.u2b", "l.x.d3a")
    assert len(res.edges) == 8 and not res.partial


def test_lineage_depth_limit(tree):
    res = tree.lineage("l.x.r", "BOTH", 1)
    assert res.nodes == ("l.x.r", "l.x.d1a", "l.x.d1b", "l.x.u1a", "l.x.u1b")
    assert len(res.edges) == 4
    assert not res.partial  # a depth cut is not a node cut
    res = tree.lineage("l.x.r", "DOWNSTREAM", 2)
    assert res.nodes == ("l.x.r", "l.x.d1a", "l.x.d1b", "l.x.d2a")
    assert all(e.upstream in res.nodes and e.downstream in res.nodes for e in res.edges)
    assert tree.lineage("l.x.d3a", "UPSTREAM", 3).nodes == (
        "l.x.d3a", "l.x.d2a", "l.x.d1a", "l.x.r")


def test_lineage_of_isolated_field(tree, make_index):
    index = make_index([F("l.x.alone")])
    for direction in ("UPSTREAM", "DOWNSTREAM", "BOTH"):
        res = index.lineage("l.x.alone", direction, 10)
        assert res.nodes == ("l.x.alone",) and res.edges == () and not res.partial
    assert tree.lineage("l.x.u2a", "UPSTREAM", 10).nodes == ("l.x.u2a",)


def test_lineage_node_cap(make_index):
    fields = [F("cap.x.root")] + [F(f"cap.x.n{i:03d}") for i in range(30)]
    edges = [E(f"cap.x.n{i:03d}", "cap.x.root") for i in range(30)]
    index = make_index(fields, edges)
    res = index.lineage("cap.x.root", "UPSTREAM", 10, max_nodes=10)
    assert res.partial and len(res.nodes) == 10
    assert res.nodes == ("cap.x.root", *(f"cap.x.n{i:03d}" for i in range(9)))
    assert all(e.upstream in res.nodes and e.downstream in res.nodes for e in res.edges)
    assert len(res.edges) == 9
    # Exactly at the cap: nothing cut, not partial.
    res = index.lineage("cap.x.root", "UPSTREAM", 10, max_nodes=31)
    assert not res.partial and len(res.nodes) == 31 and len(res.edges) == 30
    res = index.lineage("cap.x.root", "UPSTREAM", 10, max_nodes=30)
    assert res.partial and len(res.nodes) == 30


def test_lineage_node_cap_across_levels(tree):
    res = tree.lineage("l.x.r", "BOTH", 10, max_nodes=6)
    assert res.partial
    assert res.nodes == ("l.x.r", "l.x.d1a", "l.x.d1b", "l.x.u1a", "l.x.u1b", "l.x.d2a")
    assert all(e.upstream in res.nodes and e.downstream in res.nodes for e in res.edges)


def test_lineage_chain_depth(chain):
    res = chain.lineage(n(19), "UPSTREAM", 5)
    assert res.nodes == tuple(n(i) for i in range(19, 13, -1)) and not res.partial
    assert res.edges[0] == E(n(18), n(19), "step18") and len(res.edges) == 5
    assert chain.lineage(n(19), "UPSTREAM", 50).nodes == tuple(n(i) for i in range(19, -1, -1))
    assert chain.lineage(n(0), "DOWNSTREAM", 19).nodes == tuple(n(i) for i in range(20))
    assert chain.lineage(n(10), "BOTH", 2).nodes == (n(10), n(9), n(11), n(8), n(12))


def test_upstream_and_downstream_accessors(tree):
    assert tree.upstream("l.x.r") == ["l.x.u1a", "l.x.u1b"]
    assert tree.downstream("l.x.r") == ["l.x.d1a", "l.x.d1b"]
    assert tree.upstream("l.x.nope") == [] and tree.downstream("l.x.nope") == []


def test_removing_an_edge_restores_the_decision(make_index):
    index = make_index([F("r.m.up", category="external.health", grants=[]), F("r.m.down")],
                       [E("r.m.up", "r.m.down")])
    assert codes(index.check("r.m.down", "marketing", "email")) == [
        "UPSTREAM_NOT_PERMITTED", "POLICY_DENIED"]
    index = index.apply(remove_edges=[("r.m.up", "r.m.down")], revision=2)
    d = index.check("r.m.down", "marketing", "email")
    assert d.allowed and d.effective_categories == ("internal.preferences",)
    assert index.lineage("r.m.down", "UPSTREAM", 10).nodes == ("r.m.down",)
