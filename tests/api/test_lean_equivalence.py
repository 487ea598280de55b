"""The lean check path must be indistinguishable from strawberry's execution, and must not
drift from the schema: documents generated from the schema itself (every argument of check
and checkMany, every field of Decision and Reason; aliases, fragments, variables, repeated
fields, typename, errors) run both ways and the JSON must be equal; and the lean path must
take every such document, so that a new argument or field fails here until it supports
it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from graphql import (
    build_ast_schema,
    extend_schema,
    get_named_type,
    is_non_null_type,
    is_object_type,
    parse,
    print_schema,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.api.app import create_app
from catalog.api.graphql.documents import Documents, Refused
from catalog.api.graphql.lean import LeanExecutor
from catalog.api.graphql.schema import build_schema
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


class Enum(str):
    """An enum value: a bare name as a literal, its name as a variable's value."""


SCHEMA = build_schema()._schema
QUERY = SCHEMA.query_type
ROOTS = ("check", "checkMany", "lineage")
REVISIONS = [None, 0, 1, 10**6]  # 10**6 is never reached: CONFLICT after revision_wait

# Values for each argument of check / checkMany, by name. The document generator reads the
# arguments from the schema: an argument missing here fails the test, on purpose, until this
# table and the lean path (lean.ARGUMENTS) know it.
ARGUMENT_VALUES = {
    "field": st.sampled_from(FIELDS),
    "purpose": st.sampled_from(PURPOSES),
    "channel": st.sampled_from(CHANNELS),
    "atLeastRevision": st.sampled_from(REVISIONS),
    "asOf": st.sampled_from([None, {"revision": 1}, {"revision": 2},
                             {"time": "2026-01-01T00:00:00Z"}]),
    "direction": st.sampled_from([Enum("UPSTREAM"), Enum("DOWNSTREAM"), Enum("BOTH")]),
    "depth": st.sampled_from([1, 2, 10, 0, 51]),
    "requests": st.lists(st.fixed_dictionaries({"field": st.sampled_from(FIELDS),
                                                "purpose": st.sampled_from(PURPOSES),
                                                "channel": st.sampled_from(CHANNELS)}),
                         max_size=4),
}
# Arguments the lean path deliberately leaves to strawberry (lean.ARGUMENTS lacks them): a
# document that uses one must not take the lean path, and must answer the same. (None now:
# asOf is served by the lean path too.)
STRAWBERRY_ONLY: set[str] = set()
# Now and then a variable value graphql-core must refuse or convert, by argument type.
ODD_VALUES = {"String!": [1, True, None], "Int": [1.0, "1", 2**40], "Int!": [None, "2"],
              "LineageDirection!": ["SIDEWAYS", 1, None],
              "[CheckInput!]!": [[{"field": 1}], [{"field": "a", "purpose": "b"}], "x"],
              "AsOf": [{"revision": "1"}, {"revision": 1, "when": 2}, {"revision": 2**40}, 5,
                       {"revision": 1, "time": None}, {}]}


def arguments_of(root: str) -> dict:
    args = QUERY.fields[root].args
    missing = [a for a in args if a not in ARGUMENT_VALUES]
    assert not missing, (f"{root}({', '.join(missing)}): new arguments in the schema; teach "
                         "ARGUMENT_VALUES here and the lean path (lean.ARGUMENTS) about them")
    return args


def literal(value) -> str:
    """A Python value written as a GraphQL literal."""
    if isinstance(value, Enum):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    return orjson.dumps(value).decode()


def object_fields(type_name: str) -> dict:
    return SCHEMA.type_map[type_name].fields


def named(t) -> str:
    return get_named_type(t).name


aliases = st.sampled_from([None, "a", "b", "x1"])


@st.composite
def selection(draw, type_name: str, depth: int = 0) -> str:
    """A selection set body for an object type, from the schema's own fields: leaves,
    sub-selections, aliases, inline fragments; every field of the type can be drawn."""
    fields = object_fields(type_name)
    names = [*fields, "__typename"]
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(names))
        alias = draw(aliases)
        # An alias may not stand for two different fields: keep aliases per field name.
        prefix = f"{alias}_{name.strip('_')}: " if alias else ""
        sub = ""
        if name != "__typename" and is_object_type(get_named_type(fields[name].type)):
            sub = " { " + draw(selection(named(fields[name].type), depth + 1)) + " }"
        part = prefix + name + sub
        if draw(st.integers(0, 4)) == 0:
            part = draw(st.sampled_from([f"... on {type_name}", "..."])) + " { " + part + " }"
        parts.append(part)
    return " ".join(parts)


@st.composite
def documents(draw) -> tuple[str, dict, bool]:
    """(document, variables, whether it uses an argument left to strawberry)."""
    roots, variables, var_defs = [], {}, []
    strawberry_only = False
    fragment_needed = False
    waited = False
    as_of_root = False
    for i in range(draw(st.integers(1, 3))):
        root = draw(st.sampled_from(ROOTS))
        body = draw(selection(named(QUERY.fields[root].type)))
        if named(QUERY.fields[root].type) == "Decision" and draw(st.integers(0, 3)) == 0:
            body += " ...D"
            fragment_needed = True
        args = []
        for name, arg in arguments_of(root).items():
            required = is_non_null_type(arg.type)
            if not required and draw(st.booleans()):
                continue
            if name == "asOf":
                # At most one root with asOf: roots that fail in threads (asOf with
                # atLeastRevision, both off the event loop) finish in no fixed order, and
                # strawberry reports whichever failed first.
                if as_of_root:
                    continue
                as_of_root = True
            value = draw(ARGUMENT_VALUES[name])
            strawberry_only |= name in STRAWBERRY_ONLY
            if name == "atLeastRevision":
                # At most one root waits for an unreachable revision: two waits racing in
                # threads finish in no fixed order, in strawberry itself.
                if waited and value == 10**6:
                    value = 1
                waited |= value == 10**6
            if draw(st.booleans()):
                var, kind = f"v{i}_{name}", str(arg.type)
                var_defs.append(f"${var}: {kind}")
                odd = draw(st.sampled_from([None] * 6 + ["drop", "odd"]))
                if odd == "odd" and kind in ODD_VALUES:
                    value = draw(st.sampled_from(ODD_VALUES[kind]))
                if odd != "drop":
                    variables[var] = str(value) if isinstance(value, Enum) else value
                args.append(f"{name}: ${var}")
            else:
                args.append(f"{name}: {literal(value)}")
        roots.append(f"r{i}: {root}({', '.join(args)}) {{ {body} }}")
    if draw(st.booleans()):
        roots.append("__typename")
    header = f"query Q({', '.join(var_defs)})" if var_defs else "query Q"
    doc = f"{header} {{ {' '.join(roots)} }}"
    if fragment_needed:
        doc += f" fragment D on Decision {{ {draw(selection('Decision'))} }}"
    return doc, variables, strawberry_only


def run(endpoint, payload, principal, lean):
    return orjson.loads(asyncio.run(endpoint.execute(payload, principal, lean=lean)))


PRINCIPALS = [Principal("pipeline"), Principal("owner", "crm."), None]


def plan_of(endpoint, query: str, operation: str | None = None):
    prepared = endpoint.documents.check(query)
    return None if isinstance(prepared, Refused) else endpoint.lean.plan(prepared, operation)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(doc=documents(), who=st.sampled_from(PRINCIPALS))
def test_generated_documents_answer_the_same_both_ways(endpoint, doc, who):
    query, variables, strawberry_only = doc
    if strawberry_only:
        assert plan_of(endpoint, query) is None
    else:
        assert plan_of(endpoint, query) is not None, (
            "the lean path refuses a document made of the schema's own check/checkMany "
            f"arguments and Decision fields: teach it what is new (lean.ARGUMENTS, "
            f"lean_json.DECISION_FIELDS/REASON_FIELDS): {query}")
    payload = {"query": query, "variables": variables}
    assert in_order(run(endpoint, payload, who, lean=True)) == \
        in_order(run(endpoint, payload, who, lean=False))


def in_order(body: dict) -> dict:
    """Errors in a fixed order: root fields resolved in threads finish in no fixed order, so
    two failing roots may report in either order, in strawberry itself."""
    if "errors" in body:
        body["errors"] = sorted(body["errors"], key=lambda e: (str(e.get("path")),
                                                               e.get("message", "")))
    return body


@pytest.mark.parametrize(("query", "variables"), [
    ('query($r: Int) { check(field: "crm.customers.email", purpose: "service", channel: "web", '
     "asOf: {revision: $r}) { allowed revision } }", {"r": 1}),
    ('query($r: Int) { check(field: "crm.customers.email", purpose: "service", channel: "web", '
     "asOf: {revision: $r}) { allowed revision } }", {}),
    ('query($f: String!, $r: Int) { checkMany(requests: [{field: $f, purpose: "service", '
     'channel: "web"}], asOf: {revision: $r}) { allowed revision } }',
     {"f": "crm.customers.email", "r": 2}),
])
def test_literals_holding_variables_answer_the_same_both_ways(endpoint, query, variables):
    assert plan_of(endpoint, query) is not None
    payload = {"query": query, "variables": variables}
    for who in PRINCIPALS:
        assert run(endpoint, payload, who, lean=True) == run(endpoint, payload, who, lean=False)


def test_a_wait_beside_a_failing_root_reports_what_strawberry_reports(endpoint):
    """Found by the generator: r0 waits for a revision never reached (CONFLICT after the
    wait), r1 fails at once (asOf with atLeastRevision). Strawberry runs roots concurrently
    and reports the one that failed first; the lean path, sequential, reported r0's."""
    query = ('query Q { r0: check(field: "crm.customers.email", purpose: "marketing.direct", '
             'channel: "email", atLeastRevision: 1000000) { allowed } '
             'r1: check(field: "crm.customers.email", purpose: "marketing.direct", '
             'channel: "email", atLeastRevision: 0, asOf: {revision: 1}) { allowed } }')
    payload = {"query": query, "variables": {}}
    who = Principal("pipeline")
    lean = run(endpoint, payload, who, lean=True)
    assert lean == run(endpoint, payload, who, lean=False)
    assert [e["extensions"]["code"] for e in lean["errors"]] == ["BAD_INPUT"]


def test_the_lean_path_is_taken_for_plain_checks(endpoint):
    plan = plan_of(endpoint, '{ check(field: "a.b.c", purpose: "service", channel: "email") '
                             "{ allowed } }")
    assert plan is not None and [r.name for r in plan.roots] == ["check"]


@pytest.mark.parametrize("query", [
    '{ check(field: "a.b.c", purpose: "service", channel: "email") { allowed @skip(if: true) } }',
    '{ field(name: "a.b.c") { name } }',
    'mutation { deprecateField(name: "a.b.c") { name } }',
    '{ check(field: "a.b.c") { allowed } }',
    "{ __schema { queryType { name } } }",
    'query($f: String! @deprecated) { check(field: $f, purpose: "s", channel: "c") { allowed } }',
])
def test_other_documents_go_to_strawberry(endpoint, query):
    assert plan_of(endpoint, query) is None


def drifted(sdl_edit=None, extension: str | None = None):
    """The schema with an argument, field or input field the lean path does not know."""
    sdl = print_schema(SCHEMA)
    if sdl_edit:
        assert sdl_edit[0] in sdl
        sdl = sdl.replace(*sdl_edit)
    schema = build_ast_schema(parse(sdl))
    return extend_schema(schema, parse(extension)) if extension else schema


@pytest.mark.parametrize("schema, query", [
    (drifted(("check(field: String!", "check(onBehalfOf: String, field: String!")),
     '{ check(onBehalfOf: "x", field: "a.b.c", purpose: "service", channel: "email") '
     "{ allowed } }"),
    (drifted(("checkMany(requests: [CheckInput!]!", "checkMany(onBehalfOf: String, requests: "
                                                     "[CheckInput!]!")),
     '{ checkMany(onBehalfOf: "x", requests: []) { allowed } }'),
    (drifted(extension="extend type Decision { confidence: Float }"),
     '{ check(field: "a.b.c", purpose: "service", channel: "email") { allowed confidence } }'),
    (drifted(extension="extend type Reason { hint(short: Boolean): String }"),
     '{ check(field: "a.b.c", purpose: "s", channel: "e") { reasons { hint(short: true) } } }'),
    (drifted(extension="extend input CheckInput { onBehalfOf: String }"),
     '{ checkMany(requests: []) { allowed } }'),
    (drifted(extension="directive @audit on FIELD"),
     '{ check(field: "a.b.c", purpose: "service", channel: "email") @audit { allowed } }'),
])
def test_what_the_lean_path_does_not_know_goes_to_strawberry(schema, query):
    """Plan-time allow-lists: an argument, field, input field or directive the schema gained
    is never silently ignored by the lean path."""
    prepared = Documents(schema).check(query)
    assert not isinstance(prepared, Refused), prepared.errors
    assert LeanExecutor(schema).plan(prepared, None) is None


def test_a_new_plan_never_serves_an_old_plans_json(endpoint):
    """Plans come and go (the cache is bounded); a decision's memoized JSON belongs to the
    plan that made it, even when a new plan takes a freed plan's place in memory."""
    import gc

    from catalog.services.auth import SYSTEM
    ask = '{ check(field: "crm.customers.email", purpose: "service", channel: "email") { %s } }'
    for selection_ in ["allowed", "revision", "allowed field", "purpose", "revision allowed"] * 4:
        endpoint.documents.cache.clear()
        gc.collect()
        out = run(endpoint, {"query": ask % selection_}, SYSTEM, lean=True)
        assert list(out["data"]["check"]) == selection_.split()


SINGLE = ("query C($f: String!, $p: String!, $c: String!, $r: Int) "
          "{ check(field: $f, purpose: $p, channel: $c, atLeastRevision: $r) "
          "{ allowed reasons { code rule } obligations } }")


@pytest.mark.parametrize("variables", [
    {"f": "crm.customer.email", "p": "marketing", "c": "email"},
    {"f": "crm.customer.email", "p": "service", "c": "web", "extra": 1},
    {"f": "no.such.field", "p": "nope", "c": "email"},
    {"f": "crm.customer.email", "p": "service", "c": "web", "r": 1},
    {"f": "crm.customer.email", "p": "service", "c": "web", "r": 10**6},
    {"f": 3, "p": "service", "c": "web"},
    {"f": None, "p": "service", "c": "web"},
    {"p": "service", "c": "web"},
])
@pytest.mark.parametrize("who", PRINCIPALS)
def test_the_single_check_shortcut_answers_as_strawberry(endpoint, variables, who):
    """A lone check from three String! variables takes the lean path's shortcut (plan.single);
    whatever the variables and the caller, it answers as strawberry does."""
    assert plan_of(endpoint, SINGLE).single is not None
    payload = {"query": SINGLE, "variables": variables}
    assert run(endpoint, payload, who, lean=True) == run(endpoint, payload, who, lean=False)


@pytest.mark.parametrize("query", [
    '{ check(field: "a.b.c", purpose: "service", channel: "email") { allowed } }',
    'query($f: String!) { check(field: $f, purpose: "service", channel: "email") { allowed } }',
    "query($f: String!) { a: check(field: $f, purpose: $f, channel: $f) { allowed } "
    "b: check(field: $f, purpose: $f, channel: $f) { allowed } }",
])
def test_no_shortcut_for_other_checks(endpoint, query):
    plan = plan_of(endpoint, query)
    assert plan is not None and plan.single is None


ASOF_SINGLE = ("query($f: String!, $p: String!, $c: String!, $a: AsOf) { check(field: $f, "
               "purpose: $p, channel: $c, asOf: $a) { allowed reasons { code } revision } }")


@pytest.mark.parametrize("as_of", [
    {"revision": 1}, {"revision": 2}, None, {"revision": 10**6}, {"revision": -1},
    {"revision": True}, {"revision": 1, "time": None}, {"time": "2026-01-01T00:00:00Z"},
    {"revision": "1"}, {}, 5])
@pytest.mark.parametrize("who", PRINCIPALS)
def test_a_lone_check_with_an_asof_variable_answers_as_strawberry(endpoint, as_of, who):
    """The shortcut takes a lone check naming asOf too: from the historical index this worker
    holds for {revision: r}; anything else (not built yet, a time, an odd value) goes the
    general way. Either way the answer is strawberry's."""
    plan = plan_of(endpoint, ASOF_SINGLE)
    assert plan is not None and plan.single is not None
    payload = {"query": ASOF_SINGLE, "variables": {"f": "crm.customers.email", "p": "service",
                                                   "c": "web", "a": as_of}}
    lean = run(endpoint, payload, who, lean=True)
    assert lean == run(endpoint, payload, who, lean=False)
    if as_of == {"revision": 1} and as_of["revision"] is not True and who is not None:
        # the demo's fields came at revision 2
        assert lean["data"]["check"]["revision"] == 1
        assert lean["data"]["check"]["reasons"][0]["code"] == "UNKNOWN_FIELD"


def test_the_shortcut_answers_asof_from_the_held_index_and_never_leaks_it(endpoint,
                                                                         monkeypatch):
    """Once the index at revision 1 is held, the shortcut answers from it (the general path
    is never entered), and the same plan without asOf answers from the live index."""
    from catalog.api.graphql import lean as lean_module
    who = Principal("pipeline")
    ask = {"f": "crm.customers.email", "p": "service", "c": "web"}
    past = {"query": ASOF_SINGLE, "variables": {**ask, "a": {"revision": 1}}}
    now = {"query": ASOF_SINGLE, "variables": {**ask, "a": None}}
    run(endpoint, past, who, lean=True)  # builds and holds the index at revision 1

    def general_path(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(lean_module, "_run", general_path)
    for _ in range(2):
        then = run(endpoint, past, who, lean=True)["data"]["check"]
        assert then["revision"] == 1 and then["reasons"][0]["code"] == "UNKNOWN_FIELD"
        current = run(endpoint, now, who, lean=True)["data"]["check"]
        assert current["revision"] == endpoint.catalog.index.revision > 1
        assert current == run(endpoint, now, who, lean=False)["data"]["check"]
        assert "UNKNOWN_FIELD" not in [r["code"] for r in current["reasons"]]


FIELD_ALL = ("name category source owner description sourceSystem deprecated revision "
             "upstream downstream effectiveCategories effectiveSources sensitivity __typename "
             "grants { purpose channels requiresConsent customerBenefit __typename }")


@pytest.mark.parametrize("query, variables", [
    ("query($f: String!) { lineage(field: $f, depth: 10) "
     "{ root partial nodes { name } edges { upstream downstream transform } } }",
     {"f": "dwh.marts.audiences.baby_club_member"}),
    ("query($f: String!, $d: LineageDirection!) { lineage(field: $f, direction: $d) "
     f"{{ __typename root nodes {{ {FIELD_ALL} }} edges {{ transform __typename upstream }} "
     "partial } }", {"f": "crm.customers.email", "d": "BOTH"}),
    ("{ a: lineage(field: \"ml.scores.pregnancy_likelihood\", direction: DOWNSTREAM, depth: 2)"
     " { nodes { n: name category n2: name } edges { d: downstream } } "
     "b: check(field: \"crm.customers.email\", purpose: \"service\", channel: \"email\") "
     "{ allowed } }", {}),
    ("query($f: String!) { lineage(field: $f, depth: 3) { nodes { name } } }",
     {"f": "no.such.field"}),
])
@pytest.mark.parametrize("who", PRINCIPALS)
def test_lineage_takes_the_lean_path_and_answers_as_strawberry(endpoint, query, variables,
                                                                who):
    assert plan_of(endpoint, query) is not None
    payload = {"query": query, "variables": variables}
    lean = run(endpoint, payload, who, lean=True)
    assert lean == run(endpoint, payload, who, lean=False)
    if who is not None and who.role == "owner" and "no.such" not in str(variables):
        assert lean["data"] is not None  # an answer, not only errors, is compared


LINEAGE_TEXT = ("query($f: String!) { lineage(field: $f) "
                "{ root partial nodes { name } edges { upstream downstream transform } } }")


@pytest.mark.parametrize("odd", ['a.b."q"', "a.b.back\\slash", "a.b.tab\there", "a.b.é",
                                 "a.b.del\x7f", "a.b.plain"])
@pytest.mark.parametrize("partial", [False, True])
def test_lineage_text_is_orjsons_whatever_the_names_and_transforms(endpoint, odd, partial):
    """The lean path writes names and edges as joined text only when every name is plain
    (nothing JSON escapes); any other name goes through orjson, so the bytes are the same
    either way. Transforms are free text: always written by orjson."""
    from catalog.domain.model import LineageResult
    root = "a.b.root"
    rows = ((odd, root, 'x "y" \\ z\n\t é'), ("a.b.other", root, None), (odd, "a.b.other", "t"))
    result = LineageResult(root, (root, "a.b.other", odd), rows, partial)
    selection = plan_of(endpoint, LINEAGE_TEXT).roots[0].selection
    expected = {"root": root, "partial": partial,
                "nodes": [{"name": n} for n in result.nodes],
                "edges": [{"upstream": u, "downstream": d, "transform": t} for u, d, t in rows]}
    assert selection.render(result, None) == orjson.dumps(expected)
