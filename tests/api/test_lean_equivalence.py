"""The lean check path must be indistinguishable from strawberry's execution: generated
documents (aliases, fragments, variables, repeated fields, typename, errors) run both ways
and the JSON must be equal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.api.app import create_app
from catalog.services import setup
from catalog.services.auth import Principal
from catalog.services.core import Catalog
from catalog.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
FIELDS = ["crm.customers.email", "ml.scores.pregnancy_likelihood",
          "dwh.marts.audiences.baby_club_member", "broker.acme_feed.credit_score",
          "no.such.field", "bad name"]
PURPOSES = ["marketing.direct", "service", "sharing.partners", "pricing.individual", "nope"]
CHANNELS = ["email", "sms", "web", "ads", "nowhere"]
DECISION_LEAVES = ["allowed", "field", "purpose", "channel", "obligations",
                   "effectiveCategories", "revision", "intensity", "__typename"]
REASON_LEAVES = ["code", "message", "rule", "path", "__typename"]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('lean') / 'lean.db'}"
    cat = Catalog(database_url=url, settings=Settings(database_url=url, revision_wait=0.05,
                                                      sync_interval=0.0))
    setup.init(cat)
    setup.load_catalog_file(cat, SEEDS / "demo" / "catalog.yaml")
    app = create_app(cat, background_sync=False)
    yield app.endpoint
    cat.close()


aliases = st.sampled_from([None, "a", "b", "x1"])


@st.composite
def reason_selection(draw) -> str:
    leaves = draw(st.lists(st.tuples(aliases, st.sampled_from(REASON_LEAVES)), min_size=1,
                           max_size=5))
    return " ".join(f"{a}: {n}" if a else n for a, n in leaves)


@st.composite
def decision_selection(draw) -> tuple[str, bool]:
    """A selection set body for Decision; True when it uses the named fragment."""
    parts = []
    uses_fragment = False
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["leaf", "leaf", "reasons", "inline", "spread"]))
        alias = draw(aliases)
        prefix = f"{alias}: " if alias and kind in ("leaf", "reasons") else ""
        if kind == "leaf":
            name = draw(st.sampled_from(DECISION_LEAVES))
            # An alias may not stand for two different fields: keep aliases per field name.
            prefix = f"{alias}_{name.strip('_')}: " if alias else ""
            parts.append(prefix + name)
        elif kind == "reasons":
            prefix = f"{alias}_reasons: " if alias else ""
            parts.append(f"{prefix}reasons {{ {draw(reason_selection())} }}")
        elif kind == "inline":
            cond = draw(st.sampled_from(["... on Decision", "..."]))
            parts.append(f"{cond} {{ {draw(st.sampled_from(DECISION_LEAVES))} }}")
        else:
            parts.append("...D")
            uses_fragment = True
    return " ".join(parts), uses_fragment


@st.composite
def documents(draw) -> tuple[str, dict]:
    roots, variables, var_defs = [], {}, []
    fragment_needed = False
    waited = False
    for i in range(draw(st.integers(1, 3))):
        body, frag = draw(decision_selection())
        fragment_needed |= frag
        # At most one root waits for an unreachable revision: two waits racing in threads
        # finish in no fixed order, in strawberry itself.
        at_least = draw(st.sampled_from([None, 0, 1] if waited else [None, 0, 1, 10**6]))
        waited |= at_least == 10**6
        use_vars = draw(st.booleans())
        if draw(st.booleans()):
            f, p, c = (draw(st.sampled_from(x)) for x in (FIELDS, PURPOSES, CHANNELS))
            if use_vars:
                var_defs.append(f"$f{i}: String!, $p{i}: String!, $c{i}: String!")
                # Now and then a value graphql-core must refuse or convert.
                odd = draw(st.sampled_from([None, None, None, 1, None, "drop", True]))
                variables.update({f"f{i}": f, f"p{i}": p, f"c{i}": c})
                if odd == "drop":
                    del variables[f"p{i}"]
                elif odd is not None:
                    variables[f"c{i}"] = odd
                args = f"field: $f{i}, purpose: $p{i}, channel: $c{i}"
            else:
                args = f'field: "{f}", purpose: "{p}", channel: "{c}"'
            if at_least is not None and use_vars and draw(st.booleans()):
                var_defs.append(f"$r{i}: Int")
                variables[f"r{i}"] = draw(st.sampled_from([at_least, float(at_least), None,
                                                           str(at_least), 2**40]))
                args += f", atLeastRevision: $r{i}"
            elif at_least is not None:
                args += f", atLeastRevision: {at_least}"
            roots.append(f"r{i}: check({args}) {{ {body} }}")
        else:
            reqs = [{"field": draw(st.sampled_from(FIELDS)),
                     "purpose": draw(st.sampled_from(PURPOSES)),
                     "channel": draw(st.sampled_from(CHANNELS))}
                    for _ in range(draw(st.integers(0, 4)))]
            if use_vars:
                var_defs.append(f"$q{i}: [CheckInput!]!")
                # Sometimes a wrongly typed variable: both paths must give strawberry's error.
                variables[f"q{i}"] = reqs if draw(st.integers(0, 9)) else [{"field": 1}]
                args = f"requests: $q{i}"
            else:
                lit = ", ".join(f'{{field: "{r["field"]}", purpose: "{r["purpose"]}", '
                                f'channel: "{r["channel"]}"}}' for r in reqs)
                args = f"requests: [{lit}]"
            if at_least is not None:
                args += f", atLeastRevision: {at_least}"
            roots.append(f"r{i}: checkMany({args}) {{ {body} }}")
    if draw(st.booleans()):
        roots.append("__typename")
    header = f"query Q({', '.join(var_defs)})" if var_defs else "query Q"
    doc = f"{header} {{ {' '.join(roots)} }}"
    if fragment_needed:
        leaf = draw(st.sampled_from(DECISION_LEAVES))
        doc += f" fragment D on Decision {{ {leaf} reasons {{ code }} }}"
    return doc, variables


def run(endpoint, payload, principal, lean):
    out = asyncio.run(endpoint.execute(payload, principal, lean=lean))
    return orjson.loads(orjson.dumps(out))


PRINCIPALS = [Principal("pipeline"), Principal("owner", "crm."), None]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(doc=documents(), who=st.sampled_from(PRINCIPALS))
def test_generated_documents_answer_the_same_both_ways(endpoint, doc, who):
    query, variables = doc
    payload = {"query": query, "variables": variables}
    assert run(endpoint, payload, who, lean=True) == run(endpoint, payload, who, lean=False)


def test_the_lean_path_is_taken_for_plain_checks(endpoint):
    plan = endpoint.lean.plan('{ check(field: "a.b.c", purpose: "service", channel: "email") '
                              "{ allowed } }", None)
    assert plan is not None and [r.name for r in plan.roots] == ["check"]


@pytest.mark.parametrize("query", [
    '{ check(field: "a.b.c", purpose: "service", channel: "email") { allowed @skip(if: true) } }',
    '{ field(name: "a.b.c") { name } }',
    'mutation { deprecateField(name: "a.b.c") { name } }',
    '{ check(field: "a.b.c") { allowed } }',
    "{ __schema { queryType { name } } }",
])
def test_other_documents_go_to_strawberry(endpoint, query):
    assert endpoint.lean.plan(query, None) is None


def test_a_new_plan_never_serves_an_old_plans_json(endpoint):
    """Plans come and go (the cache is bounded); a decision's memoized JSON belongs to the
    plan that made it, even when a new plan takes a freed plan's place in memory."""
    import gc

    from catalog.services.auth import SYSTEM
    ask = '{ check(field: "crm.customers.email", purpose: "service", channel: "email") { %s } }'
    for selection in ["allowed", "revision", "allowed field", "purpose", "revision allowed"] * 4:
        endpoint.lean._plans.clear()
        gc.collect()
        out = run(endpoint, {"query": ask % selection}, SYSTEM, lean=True)
        assert list(out["data"]["check"]) == selection.split()
