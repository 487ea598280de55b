"""The strawberry schema, with document caches and limits."""

from __future__ import annotations

import logging
from functools import lru_cache

import strawberry
from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from catalog.api.graphql.limits import LimitsRule
from catalog.api.graphql.mutation import Mutation
from catalog.api.graphql.query import Query
from catalog.errors import CatalogError

# A 10,000-item checkMany written inline is about 100,000 tokens.
MAX_TOKENS = 250_000


class CatalogSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Expected errors (bad input, not found, forbidden...) are the caller's business;
        # the server log gets only the unexpected ones, in errors.shape.
        return None

    async def execute(self, query, *args, **kwargs) -> ExecutionResult:
        if kwargs.get("operation_name") is None and _operations(query) > 1:
            # The spec requires an error here; strawberry would run the first operation.
            return ExecutionResult(data=None, errors=[GraphQLError(
                "the document holds several operations: name the one to run in "
                '"operationName"', extensions={"code": "BAD_INPUT"})])
        # strawberry raises (a 500 under uvicorn) for an empty document, a document without
        # operations and an unknown operationName: the caller's input is off.
        try:
            return await super().execute(query, *args, **kwargs)
        except (CannotGetOperationTypeError, MissingQueryError):
            name = kwargs.get("operation_name")
            message = (f"the document has no operation named {name!r}" if name else
                       "the document holds no operation: send a query or a mutation")
            return ExecutionResult(data=None, errors=[
                GraphQLError(message, extensions={"code": "BAD_INPUT"})])


@lru_cache(maxsize=1000)
def _operations(query: str | None) -> int:
    try:
        document = parse(query or "", max_tokens=MAX_TOKENS)
    except GraphQLError:
        return 0  # strawberry reports the syntax error
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    extensions: list = [lambda: ParserCache(maxsize=1000), lambda: ValidationCache(maxsize=1000),
                        lambda: AddValidationRules([LimitsRule]),
                        lambda: MaxTokensLimiter(MAX_TOKENS)]
    if not introspection:
        extensions.append(DisableIntrospection)
    return CatalogSchema(query=Query, mutation=Mutation, extensions=extensions)


@lru_cache(maxsize=2)
def get_schema(introspection: bool = True) -> strawberry.Schema:
    return build_schema(introspection=introspection)


__all__ = ["CatalogError", "build_schema", "get_schema", "logging"]
