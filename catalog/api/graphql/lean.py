"""The lean path for pipelines' check and checkMany.

Strawberry resolves every field of every Decision through its machinery; for a checkMany of
1,000 that is most of the request's time. Here a document whose operation selects only
`check`, `checkMany` and `__typename` is compiled once into a plan (which response key takes
which value), and a request runs the plan: coerce variables, call the same services, write
the selected keys. Everything else goes to strawberry.

It must be indistinguishable from GraphQL execution: documents are parsed and validated by
graphql-core with the same rules as the schema; variables and arguments are coerced by
graphql-core's own functions; any document, variable or argument problem is left to
strawberry so the errors are its errors. tests/api/test_lean_equivalence.py runs generated
documents both ways and compares the JSON.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    get_argument_values,
    get_variable_values,
)
from graphql.language import print_ast

from catalog.api.graphql.context import off_loop
from catalog.api.graphql.errors import shape
from catalog.api.graphql.limits import LimitsRule
from catalog.api.graphql.schema import MAX_TOKENS
from catalog.domain.decision import Decision
from catalog.services import checks

NOT_LEAN = None
CACHE_SIZE = 10_000  # plans of distinct documents; pipelines mostly reuse one with variables

Serializer = Callable[[Any], Any]


@dataclass(frozen=True)
class Root:
    key: str
    name: str  # check | checkMany | __typename
    node: FieldNode  # the first node, for arguments and error locations
    serialize: Serializer | None  # Decision -> dict
    args: dict | None  # coerced already when the operation has no variables


@dataclass(frozen=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]
    # (name, type) of each variable when all are of the plain types _plain_value knows and
    # none has a default; None otherwise (graphql-core coerces them).
    plain_variables: tuple[tuple[str, str, Any], ...] | None = None


class LeanExecutor:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.rules = [*specified_rules, LimitsRule]
        self._plans: dict[tuple[str, str | None], Plan | None] = {}

    # -- planning ------------------------------------------------------------------------
    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan = self._compile(query, operation_name)
        if len(self._plans) >= CACHE_SIZE:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return NOT_LEAN
        if validate(self.schema, document, self.rules):
            return NOT_LEAN
        operation = _operation(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            return NOT_LEAN
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        if _has_directives(operation, fragments):
            return NOT_LEAN
        roots = []
        query_type = self.schema.query_type
        for key, nodes in collect(operation.selection_set, "Query", fragments).items():
            name = nodes[0].name.value
            if name == "__typename":
                roots.append(Root(key, name, nodes[0], None, None))
                continue
            if name not in ("check", "checkMany"):
                return NOT_LEAN
            try:
                serialize = _decision_serializer(nodes, fragments)
            except KeyError:  # a field this path does not know: strawberry answers
                return NOT_LEAN
            args = None
            if not operation.variable_definitions:
                try:
                    args = get_argument_values(query_type.fields[name], nodes[0], {})
                except GraphQLError:
                    return NOT_LEAN
            roots.append(Root(key, name, nodes[0], serialize, args))
        return Plan(operation, tuple(roots), _plain_variables(self.schema, operation))

    # -- running -------------------------------------------------------------------------
    async def execute(self, plan: Plan, variables: dict | None, catalog, principal) -> dict | None:
        """The response body, or None to let strawberry answer (variable/argument errors)."""
        op = plan.operation
        coerced: dict = {}
        if op.variable_definitions:
            coerced = _plain_values(plan.plain_variables, variables)
            if coerced is None:
                coerced = get_variable_values(self.schema, op.variable_definitions,
                                              variables or {})
                if isinstance(coerced, list):
                    return NOT_LEAN
        data: dict | None = {}
        errors: list[dict] = []
        query_type = self.schema.query_type
        for root in plan.roots:
            if root.name == "__typename":
                if data is not None:
                    data[root.key] = "Query"
                continue
            args = root.args
            if args is None:
                try:
                    args = get_argument_values(query_type.fields[root.name], root.node, coerced)
                except GraphQLError:
                    return NOT_LEAN
            try:
                value = await _run(root.name, args, catalog, principal)
            except Exception as exc:  # shape() masks all but CatalogErrors as INTERNAL
                err = GraphQLError(str(exc), nodes=[root.node], path=[root.key],
                                   original_error=exc)
                errors.append(shape(err).formatted)
                # The root fields are non-null: an error nulls all of data, and graphql-core
                # reports only the first one.
                data = None
                break
            if data is not None:
                ser = root.serialize
                data[root.key] = ser(value) if root.name == "check" else [ser(d) for d in value]
        out: dict = {"data": data}
        if errors:
            out["errors"] = errors
        return out


async def _run(name: str, args: dict, catalog, principal):
    at_least = args.get("atLeastRevision")
    wait = at_least is not None and catalog.index.revision < at_least
    if name == "check":
        checks.precheck(principal)
        call = (checks.check, catalog, principal, args["field"], args["purpose"],
                args["channel"], at_least)
    else:
        reqs = [(r["field"], r["purpose"], r["channel"]) for r in args["requests"]]
        checks.precheck(principal, reqs)
        call = (checks.check_many, catalog, principal, reqs, at_least)
    return await off_loop(*call) if wait else call[0](*call[1:])


_PLAIN_TYPES = ("String!", "String", "Int", "Int!", "[CheckInput!]!", "[CheckInput!]")
_CHECK_KEYS = frozenset(("field", "purpose", "channel"))
_INT_RANGE = range(-2**31, 2**31)


def _plain_variables(schema: GraphQLSchema,
                     op: OperationDefinitionNode) -> tuple[tuple[str, str, Any], ...] | None:
    out = []
    for v in op.variable_definitions or ():
        kind = print_ast(v.type)
        if kind not in _PLAIN_TYPES or v.default_value is not None or v.directives:
            return None
        out.append((v.variable.name.value, kind, get_variable_signature(schema, v)))
    return tuple(out)


def _plain_values(plain: tuple[tuple[str, str, Any], ...] | None,
                  given: dict | None) -> VariableValues | None:
    """Variables that graphql-core would coerce to themselves (strings that are strings, ints
    in range, check inputs with exactly their three string keys), as they are: its coercion
    costs ~20 ms for 1,000 check inputs. None when anything is off or unusual: then
    graphql-core coerces, and reports errors in its words."""
    if plain is None:
        return None
    given = given or {}
    out = {}
    sources = {}
    for name, kind, signature in plain:
        if name not in given:
            if kind.endswith("!"):
                return None
            sources[name] = VariableValueSource(signature)
            continue
        sources[name] = VariableValueSource(signature, given[name])
        value = given[name]
        if value is None:
            if kind.endswith("!"):
                return None
        elif kind.startswith("String"):
            if type(value) is not str:
                return None
        elif kind.startswith("Int"):
            if type(value) is not int or value not in _INT_RANGE:
                return None
        elif type(value) is not list or not all(
                type(item) is dict and item.keys() == _CHECK_KEYS
                and all(type(x) is str for x in item.values()) for item in value):
            return None
        out[name] = value
    return VariableValues(sources, out)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name and o.name.value == name), None)


def _has_directives(operation: OperationDefinitionNode, fragments: dict) -> bool:
    """Any directive anywhere (@skip, @include...): leave such documents to strawberry."""
    if operation.directives:
        return True
    seen: set[str] = set()
    stack: list[SelectionSetNode | None] = [operation.selection_set]
    while stack:
        sel = stack.pop()
        if sel is None:
            continue
        for s in sel.selections:
            if s.directives:
                return True
            if isinstance(s, FragmentSpreadNode):
                frag = fragments.get(s.name.value)
                if frag is not None and s.name.value not in seen:
                    seen.add(s.name.value)
                    if frag.directives:
                        return True
                    stack.append(frag.selection_set)
            else:
                stack.append(s.selection_set)
    return False


def collect(selection_set: SelectionSetNode, type_name: str,
            fragments: dict) -> dict[str, list[FieldNode]]:
    """GraphQL's CollectFields for a concrete object type: response key -> its field nodes,
    in document order."""
    out: dict[str, list[FieldNode]] = {}

    def walk(sel: SelectionSetNode, seen: set[str]) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                key = s.alias.value if s.alias else s.name.value
                out.setdefault(key, []).append(s)
            elif isinstance(s, InlineFragmentNode):
                if s.type_condition is None or s.type_condition.name.value == type_name:
                    walk(s.selection_set, seen)
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                frag = fragments.get(name)
                if name in seen or frag is None or frag.type_condition.name.value != type_name:
                    continue
                seen.add(name)
                walk(frag.selection_set, seen)

    walk(selection_set, set())
    return out


def _sub(nodes: list[FieldNode], type_name: str, fragments: dict) -> dict[str, list[FieldNode]]:
    merged: dict[str, list[FieldNode]] = {}
    for node in nodes:
        if node.selection_set is not None:
            for key, more in collect(node.selection_set, type_name, fragments).items():
                merged.setdefault(key, []).extend(more)
    return merged


_REASON_GETTERS: dict[str, Callable[[Any], Any]] = {
    "code": lambda r: r.code,  # a StrEnum: serialized as its value
    "message": lambda r: r.message,
    "rule": lambda r: r.rule,
    "path": lambda r: list(r.path) if r.path is not None else None,
    "__typename": lambda r: "Reason",
}


def _reason_serializer(nodes: list[FieldNode], fragments: dict) -> Serializer:
    getters = [(key, _REASON_GETTERS[more[0].name.value])
               for key, more in _sub(nodes, "Reason", fragments).items()]
    return lambda r: {key: get(r) for key, get in getters}


# Serialized decisions, reused while the index keeps handing out the same Decision object:
# (serializer number, decision id) -> (decision, JSON fragment). Holding the decision keeps
# its id from being reused by another object.
_MEMO: dict[tuple[int, int], tuple[Decision, orjson.Fragment]] = {}
_MEMO_SIZE = 50_000


_SERIALIZER_IDS = itertools.count()


def _memoized(build: Serializer) -> Serializer:
    # A number never reused (an id() would be, once a dropped plan's serializer is freed,
    # and a new plan would then be served another selection's JSON).
    key0 = next(_SERIALIZER_IDS)

    def serialize(d: Decision):
        key = (key0, id(d))
        hit = _MEMO.get(key)
        if hit is not None and hit[0] is d:
            return hit[1]
        fragment = orjson.Fragment(orjson.dumps(build(d)))
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = (d, fragment)
        return fragment

    return serialize


def _decision_serializer(nodes: list[FieldNode], fragments: dict) -> Serializer:
    return _memoized(_decision_builder(nodes, fragments))


def _decision_builder(nodes: list[FieldNode], fragments: dict) -> Serializer:
    getters: list[tuple[str, Callable[[Decision], Any]]] = []
    for key, more in _sub(nodes, "Decision", fragments).items():
        name = more[0].name.value
        if name == "reasons":
            ser = _reason_serializer(more, fragments)
            getters.append((key, lambda d, ser=ser: [ser(r) for r in d.reasons]))
        else:
            getters.append((key, _DECISION_GETTERS[name]))
    return lambda d: {key: get(d) for key, get in getters}


_DECISION_GETTERS: dict[str, Callable[[Decision], Any]] = {
    "allowed": lambda d: d.allowed,
    "field": lambda d: d.field,
    "purpose": lambda d: d.purpose,
    "channel": lambda d: d.channel,
    "obligations": lambda d: list(d.obligations),
    "effectiveCategories": lambda d: list(d.effective_categories),
    "revision": lambda d: d.revision,
    "intensity": lambda d: d.intensity,
    "__typename": lambda d: "Decision",
}
