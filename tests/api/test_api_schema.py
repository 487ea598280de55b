"""The schema: graphql/schema.graphql is what the code prints, and it carries every name,
type and argument of CONTRACT §6 exactly (more fields are allowed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    print_ast,
)

from catalog.api.graphql.export import sdl

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "graphql" / "schema.graphql"
CONTRACT_FILE = Path("/work/shared/CONTRACT.md")
REGENERATE = ("graphql/schema.graphql is out of date: regenerate with "
              "`.venv/bin/python -m catalog.api.graphql.export > graphql/schema.graphql`")

# CONTRACT §6, as written; used when the contract file itself is not at hand.
CONTRACT_SDL = """
type Query {
  check(field: String!, purpose: String!, channel: String!, atLeastRevision: Int): Decision!
  checkMany(requests: [CheckInput!]!, atLeastRevision: Int): [Decision!]!
  field(name: String!): Field
  lineage(field: String!, direction: LineageDirection! = UPSTREAM, depth: Int! = 10): Lineage!
}
type Mutation {
  registerField(input: FieldInput!): Field!
  registerFields(inputs: [FieldInput!]!): [Field!]!
  deprecateField(name: String!): Field!
  grantPurpose(field: String!, grant: GrantInput!): Field!
  revokePurpose(field: String!, purpose: String!): Field!
  addLineage(upstream: String!, downstream: String!, transform: String): LineageEdge!
  addLineages(edges: [LineageEdgeInput!]!): [LineageEdge!]!
  removeLineage(upstream: String!, downstream: String!): Boolean!
}
input CheckInput { field: String!  purpose: String!  channel: String! }
input FieldInput {
  name: String!  category: String!  source: String!  owner: String!
  description: String  sourceSystem: String  grants: [GrantInput!]
}
input LineageEdgeInput { upstream: String!  downstream: String!  transform: String }
input GrantInput { purpose: String!  channels: [String!]  requiresConsent: Boolean = false }
type Decision {
  allowed: Boolean!  field: String!  purpose: String!  channel: String!
  reasons: [Reason!]!  obligations: [String!]!  effectiveCategories: [String!]!
  revision: Int!
}
type Reason { code: ReasonCode!  message: String!  rule: String  path: [String!] }
enum ReasonCode { UNKNOWN_FIELD UNKNOWN_PURPOSE UNKNOWN_CHANNEL FIELD_DEPRECATED
  PURPOSE_NOT_GRANTED CHANNEL_NOT_PERMITTED UPSTREAM_NOT_PERMITTED POLICY_DENIED }
type Field {
  name: String!  category: String!  source: String!  owner: String!
  description: String  sourceSystem: String  deprecated: Boolean!
  grants: [Grant!]!  upstream: [String!]!  downstream: [String!]!
  effectiveCategories: [String!]!
  revision: Int!
}
type Grant { purpose: String!  channels: [String!]  requiresConsent: Boolean! }
enum LineageDirection { UPSTREAM DOWNSTREAM BOTH }
type Lineage { root: String!  nodes: [Field!]!  edges: [LineageEdge!]!  partial: Boolean! }
type LineageEdge { upstream: String!  downstream: String!  transform: String }
"""


def contract_sdl() -> str:
    """The graphql block of CONTRACT.md when the file is there, else the copy above."""
    if CONTRACT_FILE.exists():
        m = re.search(r"## 6\..*?```graphql\n(.*?)```", CONTRACT_FILE.read_text(), re.S)
        if m:
            return m.group(1)
    return CONTRACT_SDL


@pytest.fixture(scope="module")
def ours() -> GraphQLSchema:
    return build_schema(sdl())


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    return build_schema(contract_sdl())


def test_checked_in_schema_is_current():
    assert SCHEMA_FILE.read_text() == sdl(), REGENERATE


def test_contract_copy_matches_the_contract(contract):
    # The hard-coded copy is the fallback; it must say what the contract says.
    assert _describe(build_schema(CONTRACT_SDL)) == _describe(contract)


def _describe(schema: GraphQLSchema) -> dict:
    out = {}
    for name, t in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if isinstance(t, GraphQLEnumType):
            out[name] = list(t.values)
        elif isinstance(t, (GraphQLObjectType, GraphQLInputObjectType)):
            out[name] = {f: _field(x) for f, x in t.fields.items()}
    return out


def default(arg_or_input_field) -> str | None:
    """The default as written in the SDL ("UPSTREAM", "10", "false", "null"), or None."""
    node = arg_or_input_field.ast_node
    return print_ast(node.default_value) if node and node.default_value else None


def _field(f) -> dict:
    d = {"type": str(f.type)}
    if hasattr(f, "args"):
        d["args"] = {a: (str(x.type), default(x)) for a, x in f.args.items()}
    else:
        d["default"] = default(f)
    return d


def test_schema_carries_every_contract_name_exactly(ours, contract):
    problems = []
    for name, want in contract.type_map.items():
        if name.startswith("__"):
            continue
        have = ours.type_map.get(name)
        if have is None:
            problems.append(f"type {name} missing")
            continue
        if type(have) is not type(want):
            problems.append(f"{name} is a {type(have).__name__}, contract: {type(want).__name__}")
            continue
        if isinstance(want, GraphQLEnumType):
            if list(have.values) != list(want.values):  # order matters: reasons sort by it
                problems.append(f"enum {name}: {list(have.values)} != {list(want.values)}")
            continue
        if not isinstance(want, (GraphQLObjectType, GraphQLInputObjectType)):
            continue
        for fname, wf in want.fields.items():
            hf = have.fields.get(fname)
            if hf is None:
                problems.append(f"{name}.{fname} missing")
                continue
            if str(hf.type) != str(wf.type):
                problems.append(f"{name}.{fname}: {hf.type} != {wf.type}")
            if isinstance(want, GraphQLInputObjectType):
                if default(wf) is not None and default(hf) != default(wf):
                    problems.append(f"{name}.{fname} default {default(hf)} != {default(wf)}")
                continue
            for aname, wa in wf.args.items():
                ha = hf.args.get(aname)
                if ha is None:
                    problems.append(f"{name}.{fname}({aname}) missing")
                elif str(ha.type) != str(wa.type):
                    problems.append(f"{name}.{fname}({aname}): {ha.type} != {wa.type}")
                elif default(wa) is not None and default(ha) != default(wa):
                    problems.append(f"{name}.{fname}({aname}) default {default(ha)} "
                                    f"!= {default(wa)}")
            for aname, ha in hf.args.items():
                # An argument the contract lacks must be optional, or callers break.
                if aname not in wf.args and str(ha.type).endswith("!") and \
                        default(ha) is None:
                    problems.append(f"{name}.{fname}({aname}) is required, not in the contract")
        if isinstance(want, GraphQLInputObjectType):
            for fname, hf in have.fields.items():
                if fname not in want.fields and str(hf.type).endswith("!") and \
                        default(hf) is None:
                    problems.append(f"input {name}.{fname} is required, not in the contract")
    assert not problems, "\n".join(problems)
