"""Documents parsed and validated once, off the event loop, for both executors.

Every POST /graphql document goes through `Documents.prepare` before the lean path or
strawberry sees it: parse (token limit), the document limits (linear, first: a document that
asks for too many fields is refused before graphql-core's quadratic overlap check), then the
schema's validation rules. A document seen before is answered from the cache; a new one is
prepared in a worker thread, so no document holds the event loop for longer than a cache
lookup. Strawberry is handed the parsed, validated document (see `PreparedDocument`) and does
neither step again.

The cache keeps only documents that passed, and is bounded by entries and by bytes: what
callers send cannot grow the server's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from catalog.api.graphql.context import off_loop
from catalog.api.graphql.limits import limit_errors

# A 10,000-item checkMany written inline is about 100,000 tokens.
MAX_TOKENS = 250_000
CACHE_ENTRIES = 1_000
# A parsed document takes ~30 bytes of memory per character of its text (measured on the
# check documents and GraphiQL's introspection query): the budget is counted in those.
CACHE_BYTES = 64 * 1024 * 1024
BYTES_PER_CHARACTER = 30


class BoundedCache:
    """A dict bounded by entries and by an estimate of the bytes its values hold; the oldest
    entries go first (insertion order)."""

    def __init__(self, entries: int, nbytes: int) -> None:
        self.max_entries, self.max_bytes = entries, nbytes
        self._data: dict[Any, tuple[Any, int]] = {}
        self.nbytes = 0

    def get(self, key) -> Any:
        hit = self._data.get(key)
        return None if hit is None else hit[0]

    def put(self, key, value, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            return
        old = self._data.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        while self._data and (len(self._data) >= self.max_entries
                              or self.nbytes + nbytes > self.max_bytes):
            self.nbytes -= self._data.pop(next(iter(self._data)))[1]
        self._data[key] = (value, nbytes)
        self.nbytes += nbytes

    def clear(self) -> None:
        self._data.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class Prepared:
    """A document that passed validation; the lean executor keeps its plans on it."""

    document: DocumentNode
    operations: int
    plans: dict[str | None, Any] = field(default_factory=dict)


@dataclass
class Refused:
    errors: list[GraphQLError]


class Documents:
    def __init__(self, schema: GraphQLSchema, *, introspection: bool = True) -> None:
        self.schema = schema
        # The rules strawberry runs (its own two included), in its order.
        self.rules = (*specified_rules,
                      *(() if introspection else (NoSchemaIntrospectionCustomRule,)),
                      MaybeNullValidationRule, OneOfInputValidationRule)
        self.cache = BoundedCache(CACHE_ENTRIES, CACHE_BYTES)

    def cached(self, query: str) -> Prepared | None:
        return self.cache.get(query)

    async def prepare(self, query: str) -> Prepared | Refused:
        hit = self.cache.get(query)
        if hit is not None:
            return hit
        out = await off_loop(self.check, query)
        if isinstance(out, Prepared):
            self.cache.put(query, out, len(query) * BYTES_PER_CHARACTER)
        return out

    def check(self, query: str) -> Prepared | Refused:
        """Parse, limits, validation: a Prepared document or the errors, as strawberry
        would report them."""
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return Refused([error])
        errors = limit_errors(document) or validate(self.schema, document, self.rules)
        if errors:
            return Refused(list(errors))
        return Prepared(document, sum(isinstance(d, OperationDefinitionNode)
                                      for d in document.definitions))


class PreparedDocument(SchemaExtension):
    """Hands strawberry the document the endpoint prepared (context.document): it skips its
    own parse and validation. Without one (a direct schema.execute) strawberry does both."""

    def on_parse(self) -> Iterator[None]:
        document = getattr(self.execution_context.context, "document", None)
        if document is not None:
            self.execution_context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        if getattr(self.execution_context.context, "document", None) is not None:
            self.execution_context.pre_execution_errors = []
        yield
