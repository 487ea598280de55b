"""The strawberry schema, with the document limits. The HTTP endpoint hands it documents
already parsed and validated (catalog/api/graphql/documents.py); a direct `execute` parses
and validates itself, caching nothing."""

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
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from catalog.api.graphql.documents import MAX_TOKENS, PreparedDocument
from catalog.api.graphql.limits import LimitsRule
from catalog.api.graphql.mutation import Mutation
from catalog.api.graphql.query import Query
from catalog.errors import CatalogError


class CatalogSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Expected errors (bad input, not found, forbidden...) are the caller's business;
        # the server log gets only the unexpected ones, in errors.shape.
        return None

    async def execute(self, query, *args, **kwargs) -> ExecutionResult:
        if kwargs.get("operation_name") is None and \
                _operations(query, kwargs.get("context_value")) > 1:
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


def _operations(query: str | None, context) -> int:
    document = getattr(context, "document", None)
    if document is not None:
        return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    try:
        document = parse(query or "", max_tokens=MAX_TOKENS)
    except GraphQLError:
        return 0  # strawberry reports the syntax error
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    # No parser or validation cache here: strawberry's are keyed by the full text and bounded
    # by entries only; the endpoint's (documents.py) is bounded by bytes too.
    extensions: list = [PreparedDocument, lambda: AddValidationRules([LimitsRule]),
                        lambda: MaxTokensLimiter(MAX_TOKENS)]
    if not introspection:
        extensions.append(DisableIntrospection)
    return CatalogSchema(query=Query, mutation=Mutation, extensions=extensions)


@lru_cache(maxsize=2)
def get_schema(introspection: bool = True) -> strawberry.Schema:
    return build_schema(introspection=introspection)


__all__ = ["CatalogError", "build_schema", "get_schema", "logging"]
