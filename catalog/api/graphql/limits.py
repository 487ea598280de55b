"""Document limits (docs/semantics.md §7): at most 100 aliases, counted through
fragments (a fragment spread twice counts twice), at most 10 levels of nesting (introspection
exempt), and bounds on how many fields a selection and a document ask for. Counts are memoized
per fragment, so a 'fragment bomb' costs linear time to measure, not exponential."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

MAX_ALIASES = 100
MAX_DEPTH = 10
# Fields asked in one selection (fragments expanded) and in the whole document. Validation
# compares every pair of same-named fields in a selection (graphql-core's
# OverlappingFieldsCanBeMerged): 12,000 repeated `check` fields took 11.6 s. These bounds
# keep the worst case to a fraction of a second and are checked first, in linear time.
MAX_SELECTION_FIELDS = 100
MAX_FIELDS = 2_500
# The same field asked n times at one place costs n^2 comparisons there, and again below:
# the sum over places of n^2 is bounded (a document that asks each field once scores its
# number of fields).
MAX_REPEATS_SCORE = 10_000
# Introspection is exempt from the nesting limit (GraphiQL's schema query nests 13 levels);
# graphql-core's MaxIntrospectionDepthRule still bounds it.
INTROSPECTION_FIELDS = frozenset(("__schema", "__type"))


@dataclass
class Measure:
    aliases: int = 0
    depth: int = 0
    fields: int = 0  # field nodes, fragments expanded at each spread
    widest: int = 0  # the most fields in one selection, fragments expanded

    def add(self, other: Measure, depth: int) -> None:
        self.aliases += other.aliases
        self.fields += other.fields
        self.depth = max(self.depth, depth)
        self.widest = max(self.widest, other.widest)


def measure(document: DocumentNode) -> Measure:
    """The document's operations, fragments expanded (each fragment measured once)."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, tuple[Measure, int]] = {}  # fragment -> (its measure, fields at its top)
    visiting: set[str] = set()

    def of_set(sel: SelectionSetNode | None) -> tuple[Measure, int]:
        out, width = Measure(), 0
        if sel is None:
            return out, 0
        for s in sel.selections:
            if isinstance(s, FieldNode):
                sub, _ = of_set(s.selection_set)
                exempt = s.name.value in INTROSPECTION_FIELDS
                out.add(sub, 1 if exempt else sub.depth + 1)
                out.fields += 1
                out.aliases += s.alias is not None
                width += 1
            else:
                sub, top = (of_fragment(s.name.value) if isinstance(s, FragmentSpreadNode)
                            else of_set(s.selection_set))
                out.add(sub, sub.depth)
                width += top
        out.widest = max(out.widest, width)
        return out, width

    def of_fragment(name: str) -> tuple[Measure, int]:
        if name in memo:
            return memo[name]
        if name in visiting or name not in fragments:
            return Measure(), 0  # cycles and unknown fragments: standard validation reports
        visiting.add(name)
        memo[name] = of_set(fragments[name].selection_set)
        visiting.discard(name)
        return memo[name]

    total = Measure()
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            sub, _ = of_set(d.selection_set)
            total.add(sub, sub.depth)
    return total


def limit_errors(document: DocumentNode) -> list[GraphQLError]:
    m = measure(document)
    errors = []
    if m.aliases > MAX_ALIASES:
        errors.append(GraphQLError(
            f"the document uses {m.aliases:,} aliases (fragments counted each time they are "
            f"spread); at most {MAX_ALIASES} are allowed: split it into several requests",
            extensions={"code": "BAD_INPUT"}))
    if m.depth > MAX_DEPTH:
        errors.append(GraphQLError(
            f"the document nests {m.depth} levels deep; at most {MAX_DEPTH} are allowed "
            "(introspection below __schema and __type is exempt)",
            extensions={"code": "BAD_INPUT"}))
    if m.widest > MAX_SELECTION_FIELDS:
        errors.append(GraphQLError(
            f"a selection asks for {m.widest:,} fields (fragments counted each time they are "
            f"spread); at most {MAX_SELECTION_FIELDS} are allowed in one selection: to ask "
            "many checks, send one checkMany(requests: $requests) with the requests in "
            "variables", extensions={"code": "BAD_INPUT"}))
    elif m.fields > MAX_FIELDS:
        errors.append(GraphQLError(
            f"the document asks for {m.fields:,} fields (fragments counted each time they are "
            f"spread); at most {MAX_FIELDS:,} are allowed: split it into several requests, "
            "or ask many checks with one checkMany(requests: $requests) and variables",
            extensions={"code": "BAD_INPUT"}))
    elif not errors:
        score, place, times = repeats(document)
        if score > MAX_REPEATS_SCORE:
            errors.append(GraphQLError(
                f"the document asks for the same field many times at one place "
                f"({'.'.join(place)!r} {times:,} times): ask each field once; for many "
                "checks send one checkMany(requests: $requests) with the requests in "
                "variables", extensions={"code": "BAD_INPUT"}))
    return errors


def repeats(document: DocumentNode) -> tuple[int, tuple[str, ...], int]:
    """(sum over response paths of the square of the fields at that path, the path asked
    most, how often). Walks the document with fragments expanded: call it only when
    `measure` found the expanded document small."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    counts: dict[tuple[str, ...], int] = {}

    def walk(sel: SelectionSetNode, path: tuple[str, ...], seen: frozenset[str]) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                here = (*path, s.alias.value if s.alias else s.name.value)
                counts[here] = counts.get(here, 0) + 1
                if s.selection_set is not None:
                    walk(s.selection_set, here, seen)
            elif isinstance(s, FragmentSpreadNode):
                frag = fragments.get(s.name.value)
                if frag is not None and s.name.value not in seen:
                    walk(frag.selection_set, path, seen | {s.name.value})
            else:
                walk(s.selection_set, path, seen)

    for i, d in enumerate(document.definitions):
        if isinstance(d, OperationDefinitionNode):
            walk(d.selection_set, (str(i),), frozenset())  # operations apart
    if not counts:
        return 0, (), 0
    place = max(counts, key=counts.__getitem__)
    return sum(n * n for n in counts.values()), place[1:], counts[place]


class LimitsRule(ValidationRule):
    """The limits as a graphql-core validation rule, run with the standard ones."""

    def enter_document(self, node: DocumentNode, *_args) -> object:
        for error in limit_errors(node):
            self.report_error(error)
        return self.SKIP
