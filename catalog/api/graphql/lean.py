"""The lean path for pipelines' check and checkMany, and for lineage (lean_lineage.py).

Strawberry resolves every field of every Decision through its machinery; for a checkMany of
1,000 that is most of the request's time (for a lineage of 10,000 nodes, nearly all of it).
Here an operation that selects only `check`, `checkMany`, `lineage` and `__typename` is
compiled once into a plan (which response key takes which value, written how), and a request
runs the plan: take the variables, call the same services (catalog/services/checks.py,
lineage.py), write the answer's bytes.

It must be indistinguishable from GraphQL execution, and it must not drift from the schema:
- documents reach it parsed and validated by the same rules as strawberry's
  (documents.py); variables and arguments that are not plainly what they claim are coerced by
  graphql-core's own functions, and any problem is left to strawberry, so the errors are its;
- every argument, field and directive it meets is checked against the allow-lists here and in
  lean_json.py at plan time; anything else (an argument added to the schema, a directive)
  hands the document to strawberry. tests/api/test_lean_equivalence.py generates documents
  from the schema itself, so a new argument or Decision field fails it until this path
  supports it.

Why a parallel executor rather than strawberry's `execution_context_class` hook: that hook
runs inside strawberry's `Schema.execute`, after its per-request setup (execution context,
extension runners, result conversion) that costs more than this whole path for a single
check; the speed comes from not entering it. The hook would save no code either: the plan,
the allow-lists and the serializers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    value_from_ast,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_variable_values,
)
from graphql.language import print_ast

from catalog.api.graphql.context import off_loop
from catalog.api.graphql.documents import Prepared
from catalog.api.graphql.errors import shape
from catalog.api.graphql.lean_json import NotLean, Selection, collect, decision_selection
from catalog.api.graphql.lean_lineage import lineage_selection
from catalog.services import checks, lineage, timeline

NOT_LEAN = None
# The arguments this path reads, per root field; and CheckInput's fields. Anything else in a
# document, or in CheckInput's definition, sends the document to strawberry.
ARGUMENTS = {"check": frozenset(("field", "purpose", "channel", "atLeastRevision", "asOf")),
             "checkMany": frozenset(("requests", "atLeastRevision", "asOf")),
             "lineage": frozenset(("field", "direction", "depth"))}
CHECK_INPUT_FIELDS = ("field", "purpose", "channel")

Recipe = tuple[tuple[str, str | None, Any], ...]  # (argument, variable or None, value/default)


@dataclass(frozen=True)
class Root:
    key: str
    name: str  # check | checkMany | __typename
    node: FieldNode  # the first node, for arguments and error locations
    head: bytes  # '"key":'
    selection: Selection | None
    recipe: Recipe | None  # how to take the arguments; None: graphql-core coerces them


@dataclass(frozen=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]
    # (name, type) of each variable when all are of the plain types _plain_values knows and
    # none has a default; None otherwise (graphql-core coerces them).
    plain_variables: tuple[tuple[str, str], ...] | None = None
    # A lone `check` whose field, purpose and channel come from variables (the pipelines'
    # single check): (answer prefix, selection, the three variables' names, atLeastRevision's
    # and asOf's variables or None). None for any other plan.
    single: tuple[bytes, Selection, tuple[str, str, str], str | None, str | None] | None = None
    # A lone `checkMany` whose requests come from a variable, with no other variable but
    # perhaps an Int for atLeastRevision, and no asOf (the pipelines' batch, answered from
    # the request's bytes by lean_raw.py): (answer prefix up to '[', selection, the
    # requests' variable, atLeastRevision's variable or None).
    many: tuple[bytes, Selection, str, str | None] | None = None


class LeanExecutor:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        check_input = schema.type_map.get("CheckInput")
        # CheckInput with a field this path does not read: checkMany goes to strawberry.
        self.many_ok = check_input is not None and \
            tuple(check_input.fields) == CHECK_INPUT_FIELDS

    # -- planning ------------------------------------------------------------------------
    def plan(self, prepared: Prepared, operation_name: str | None) -> Plan | None:
        """The plan of a validated document's operation (kept on the document), or None."""
        try:
            return prepared.plans[operation_name]
        except KeyError:
            pass
        plan = self._compile(prepared, operation_name)
        if plan is not None or _operation(prepared.document, operation_name) is not None:
            prepared.plans[operation_name] = plan  # bounded: names of its operations
        return plan

    def _compile(self, prepared: Prepared, operation_name: str | None) -> Plan | None:
        document = prepared.document
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
            head = orjson.dumps(key) + b":"
            if name == "__typename":
                roots.append(Root(key, name, nodes[0], head, None, ()))
                continue
            if name not in ARGUMENTS or (name == "checkMany" and not self.many_ok):
                return NOT_LEAN
            if any(a.name.value not in ARGUMENTS[name] for n in nodes for a in n.arguments):
                return NOT_LEAN
            try:
                selection = (lineage_selection(nodes, fragments) if name == "lineage"
                             else decision_selection(nodes, fragments))
            except NotLean:
                return NOT_LEAN
            recipe = _recipe(query_type.fields[name], nodes[0])
            roots.append(Root(key, name, nodes[0], head, selection, recipe))
        # A literal holding variables (asOf: {revision: $r}) is read by graphql-core from its
        # own coercion of the variables: then every variable takes that way.
        plain = None if any(r.recipe is None for r in roots) else _plain_variables(operation)
        return Plan(operation, tuple(roots), plain, _single(roots, plain), _many(roots, plain))

    # -- running -------------------------------------------------------------------------
    async def execute(self, plan: Plan, variables: dict | None, catalog,
                      principal) -> bytes | None:
        """The response body, or None to let strawberry answer (variable/argument errors)."""
        single = plan.single
        if single is not None and type(variables) is dict:
            # The pipelines' single check, when its variables are plain strings and it waits
            # for no revision: the general path below, minus its per-request bookkeeping.
            head, selection, (fv, pv, cv), av, ov = single
            f, p, c = variables.get(fv), variables.get(pv), variables.get(cv)
            # asOf given: only a historical index this worker holds already (else the
            # general path resolves, builds and reports).
            past = None if ov is None else variables.get(ov)
            index = None if past is None else _held(catalog, past)
            if type(f) is str and type(p) is str and type(c) is str and \
                    (av is None or variables.get(av) is None) and \
                    (past is None or index is not None):
                try:
                    if index is None:
                        catalog.fresh()
                        index = catalog.index
                    decision = checks.check(catalog, principal, f, p, c, index=index)
                except Exception as exc:
                    return _error(exc, plan.roots[0])
                return head + selection.one(decision) + b"}}"
        op = plan.operation
        coerced: dict = {}
        slow: VariableValues | None = None
        if op.variable_definitions:
            plain = _plain_values(plan.plain_variables, variables)
            if plain is None:
                slow = get_variable_values(self.schema, op.variable_definitions,
                                           variables or {})
                if isinstance(slow, list):
                    return NOT_LEAN
            else:
                coerced = plain
        snap = _Snapshot()
        # Values first, lineage roots before the checks: strawberry resolves lineage
        # synchronously and check/checkMany as coroutines awaited after every root has
        # started, so a failing lineage is the error it reports, wherever it stands.
        values: dict[int, Any] = {}
        order = sorted(range(len(plan.roots)), key=lambda i: plan.roots[i].name != "lineage")
        arguments: dict[int, dict] = {}
        for i in order:
            root = plan.roots[i]
            if root.name == "__typename":
                continue
            if root.recipe is not None and slow is None:
                arguments[i] = _apply(root.recipe, coerced)
            else:
                try:
                    arguments[i] = get_argument_values(
                        self.schema.query_type.fields[root.name], root.node, slow)
                except GraphQLError:
                    return NOT_LEAN
        # A check that may wait (for a revision, or for an as-of index to be built) beside
        # other roots: strawberry runs them concurrently, so which error it reports depends
        # on which finishes first. Its answer, not a sequential imitation of it.
        if len(arguments) > 1 and any(
                a.get("atLeastRevision") is not None or a.get("asOf") is not None
                for a in arguments.values()):
            return NOT_LEAN
        for i, args in arguments.items():
            root = plan.roots[i]
            try:
                values[i] = await _run(root.name, args, catalog, principal, snap)
            except Exception as exc:
                return _error(exc, root)
        parts = [b'{"data":{']  # one join makes the answer
        for i, root in enumerate(plan.roots):
            if i:
                parts.append(b",")
            parts.append(root.head)
            if root.name == "__typename":
                parts.append(b'"Query"')
            elif root.name == "check":
                parts.append(root.selection.one(values[i]))
            elif root.name == "lineage":
                root.selection.render_into(parts, values[i], snap.index)
            else:
                parts += (b"[", root.selection.many(values[i]), b"]")
        parts.append(b"}}")
        return b"".join(parts)


def _error(exc: Exception, root: Root) -> bytes:
    """A root's failure as GraphQL reports it. shape() masks all but CatalogErrors as
    INTERNAL. The root fields are non-null: an error nulls all of data, and graphql-core
    reports only the first one."""
    err = GraphQLError(str(exc), nodes=[root.node], path=[root.key], original_error=exc)
    return orjson.dumps({"data": None, "errors": [shape(err).formatted]})


def _single(roots: list[Root], plain: tuple[tuple[str, str], ...] | None):
    """Plan.single for these roots, or None."""
    if len(roots) != 1 or roots[0].name != "check" or plain is None or \
            roots[0].recipe is None:
        return None
    kinds = dict(plain)
    names: dict[str, str | None] = {}
    for argument, variable, value in roots[0].recipe:
        if variable is None:
            if value is not None or argument in ("field", "purpose", "channel"):
                return None  # a constant argument: the general path takes it
            continue  # an argument left out, its default null (atLeastRevision, asOf)
        names[argument] = variable
    three = tuple(names.get(a) for a in ("field", "purpose", "channel"))
    # Declared String! (String would let null through: graphql-core reports that).
    if any(v is None or kinds.get(v) != "String!" for v in three):
        return None
    return (b'{"data":{' + roots[0].head, roots[0].selection, three,
            names.get("atLeastRevision"), names.get("asOf"))


def _held(catalog, as_of) -> Any:
    """The historical index this worker holds for an asOf variable that is plainly
    {revision: r} (as _plain_values takes it); None for anything else."""
    if type(as_of) is not dict or len(as_of) != 1:
        return None
    revision = as_of.get("revision")
    if type(revision) is not int or revision not in _INT_RANGE:
        return None
    return timeline.cached(catalog, revision)  # valid: it was resolved when built


def _many(roots: list[Root], plain: tuple[tuple[str, str], ...] | None):
    """Plan.many for these roots, or None."""
    if len(roots) != 1 or roots[0].name != "checkMany" or plain is None or \
            roots[0].recipe is None:
        return None
    names: dict[str, str] = {}
    for argument, name, value in roots[0].recipe:
        if name is not None:
            names[argument] = name
        elif value is not None:  # a constant atLeastRevision or asOf
            return None
    wanted = {names.get("requests"): "[CheckInput!]!"}
    if "atLeastRevision" in names:  # as catalog.client sends it: an Int variable, often null
        wanted[names["atLeastRevision"]] = "Int"
    if "asOf" in names or dict(plain) != wanted:
        return None
    return (b'{"data":{' + roots[0].head + b"[", roots[0].selection, names["requests"],
            names.get("atLeastRevision"))


_TRIPLE = itemgetter(*CHECK_INPUT_FIELDS)


class _Snapshot:
    """The index snapshot a response reads, pinned by its first root (as the GraphQL
    context pins it for strawberry's resolvers): one revision per response."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index = None

    def get(self, catalog):
        if self.index is None:
            catalog.fresh()
            self.index = catalog.index
        return self.index


async def _run(name: str, args: dict, catalog, principal, snap: _Snapshot):
    """The root's value, as Query.check / Query.check_many (query.py) compute it."""
    if name == "lineage":  # as Query.lineage
        direction = args["direction"]
        return lineage.lineage(catalog, principal, args["field"],
                               getattr(direction, "value", direction), args["depth"],
                               index=snap.get(catalog), rows=True)
    at_least = args.get("atLeastRevision")
    if name == "check":
        checks.precheck(principal)
        call = (checks.check, catalog, principal, args["field"], args["purpose"],
                args["channel"], at_least)
    else:
        reqs = args["requests"]
        if type(reqs) is not _Triples:
            reqs = list(map(_TRIPLE, reqs))
        checks.precheck(principal, reqs)
        call = (checks.check_many, catalog, principal, reqs, at_least)
    as_of = args.get("asOf")  # coerced by graphql-core: {revision, time}
    if as_of is not None:
        as_of = timeline.AsOf(as_of.get("revision"), as_of.get("time"))
        if at_least is None and as_of.time is None and \
                timeline.cached(catalog, as_of.revision) is not None:
            return call[0](*call[1:], as_of)  # built already: nothing to wait for
        return await off_loop(*call, as_of)  # may build the index: off the event loop
    if at_least is not None and snap.get(catalog).revision < at_least:
        return await off_loop(*call)  # waits for the revision, off the event loop
    return call[0](*call[1:], index=snap.get(catalog))


class _Triples(list):
    """Check requests already taken apart into (field, purpose, channel) by _plain_values."""


def _recipe(field_def, node: FieldNode) -> Recipe | None:
    """How to take each argument: from a variable (by name), or a constant coerced now.
    None when an argument is a literal holding variables (graphql-core coerces those)."""
    given = {a.name.value: a.value for a in node.arguments}
    out = []
    for name, arg in field_def.args.items():
        value = given.get(name)
        if value is None:
            if arg.default_value is not Undefined:
                out.append((name, None, arg.default_value))
        elif isinstance(value, VariableNode):
            out.append((name, value.name.value, arg.default_value))
        elif _holds_variables(value):  # not a constant, though value_from_ast may make one
            return None
        else:
            const = value_from_ast(value, arg.type)
            if const is Undefined:
                return None
            out.append((name, None, const))
    return tuple(out)


def _holds_variables(node) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(map(_holds_variables, node.values))
    if isinstance(node, ObjectValueNode):
        return any(_holds_variables(f.value) for f in node.fields)
    return False


def _apply(recipe: Recipe, coerced: dict) -> dict:
    args = {}
    for name, variable, value in recipe:
        if variable is None:
            args[name] = value
        elif variable in coerced:
            args[name] = coerced[variable]
        elif value is not Undefined:
            args[name] = value
    return args


_PLAIN_TYPES = ("String!", "String", "Int", "Int!", "[CheckInput!]!", "[CheckInput!]", "AsOf")
_INT_RANGE = range(-2**31, 2**31)


def _plain_variables(op: OperationDefinitionNode) -> tuple[tuple[str, str], ...] | None:
    out = []
    for v in op.variable_definitions or ():
        kind = print_ast(v.type)
        if kind not in _PLAIN_TYPES or v.default_value is not None or v.directives:
            return None
        out.append((v.variable.name.value, kind))
    return tuple(out)


def _plain_values(plain: tuple[tuple[str, str], ...] | None,
                  given: dict | None) -> dict | None:
    """Variables that graphql-core would coerce to themselves (strings that are strings, ints
    in range, check inputs with exactly their three string keys, an asOf with a revision
    alone), as they are: its coercion
    costs ~20 ms for 1,000 check inputs. Check inputs come back taken apart into triples.
    None when anything is off or unusual: then graphql-core coerces, and reports errors in
    its words."""
    if plain is None:
        return None
    given = given or {}
    out = {}
    for name, kind in plain:
        if name not in given:
            if kind.endswith("!"):
                return None
            continue
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
        elif kind == "AsOf":  # {revision: int} alone (a time is a string to parse)
            if type(value) is not dict or len(value) != 1 or \
                    type(value.get("revision")) is not int or value["revision"] not in _INT_RANGE:
                return None
            value = {"revision": value["revision"], "time": None}
        else:
            value = _triples(value)
            if value is None:
                return None
        out[name] = value
    return out


def _triples(value) -> _Triples | None:
    """[{field, purpose, channel}, ...] with string values and no other keys, as triples; in C
    loops (itemgetter, len, join): a Python loop per item was most of a checkMany's time."""
    if type(value) is not list:
        return None
    try:
        out = _Triples(map(_TRIPLE, value))  # TypeError for anything but a dict
        if sum(map(len, value)) != 3 * len(out):  # each has the three keys: no other key
            return None
        "".join(chain.from_iterable(out))  # TypeError unless every value is a string
    except (KeyError, TypeError):
        return None
    return out


def _operation(document, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name and o.name.value == name), None)


def _has_directives(operation: OperationDefinitionNode, fragments: dict) -> bool:
    """Any directive anywhere (@skip, @include, or one added later): strawberry answers."""
    if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
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
