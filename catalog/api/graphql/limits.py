"""Document limits (docs/semantics.md, section 7): at most 100 aliases, counted through fragments (a
fragment spread twice counts twice), and at most 10 levels of nesting. Counts are memoized per
fragment, so a 'fragment bomb' costs linear time to measure, not exponential."""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

MAX_ALIASES = 100
MAX_DEPTH = 10


def measure(document: DocumentNode) -> tuple[int, int]:
    """(aliases, depth) of the document's operations, fragments expanded."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, tuple[int, int]] = {}
    visiting: set[str] = set()

    def of_set(sel: SelectionSetNode | None) -> tuple[int, int]:
        if sel is None:
            return 0, 0
        aliases, depth = 0, 0
        for s in sel.selections:
            if isinstance(s, FieldNode):
                a, dp = of_set(s.selection_set)
                aliases += a + (1 if s.alias is not None else 0)
                depth = max(depth, dp + 1)
            elif isinstance(s, InlineFragmentNode):
                a, dp = of_set(s.selection_set)
                aliases, depth = aliases + a, max(depth, dp)
            elif isinstance(s, FragmentSpreadNode):
                a, dp = of_fragment(s.name.value)
                aliases, depth = aliases + a, max(depth, dp)
        return aliases, depth

    def of_fragment(name: str) -> tuple[int, int]:
        if name in memo:
            return memo[name]
        if name in visiting or name not in fragments:
            return 0, 0  # cycles and unknown fragments are reported by standard validation
        visiting.add(name)
        memo[name] = of_set(fragments[name].selection_set)
        visiting.discard(name)
        return memo[name]

    aliases, depth = 0, 0
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            a, dp = of_set(d.selection_set)
            aliases, depth = aliases + a, max(depth, dp)
    return aliases, depth


def limit_errors(document: DocumentNode) -> list[GraphQLError]:
    aliases, depth = measure(document)
    errors = []
    if aliases > MAX_ALIASES:
        errors.append(GraphQLError(
            f"the document uses {aliases} aliases (fragments counted each time they are "
            f"spread); at most {MAX_ALIASES} are allowed: split it into several requests",
            extensions={"code": "BAD_INPUT"}))
    if depth > MAX_DEPTH:
        errors.append(GraphQLError(
            f"the document nests {depth} levels deep; at most {MAX_DEPTH} are allowed",
            extensions={"code": "BAD_INPUT"}))
    return errors


class LimitsRule(ValidationRule):
    """The limits as a graphql-core validation rule, run with the standard ones."""

    def enter_document(self, node: DocumentNode, *_args) -> object:
        for error in limit_errors(node):
            self.report_error(error)
        return self.SKIP
