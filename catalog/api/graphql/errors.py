"""Error shaping: every error carries extensions.code; domain errors keep their message,
anything unexpected is logged here and masked for the caller (no stack trace, no SQL)."""

from __future__ import annotations

import logging

from graphql import GraphQLError

from catalog.errors import CatalogError

log = logging.getLogger("catalog.api")
INTERNAL_MESSAGE = "internal error: the server logged it; try again or report it"


def shape(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, CatalogError):
        code, message = original.code, original.message
    elif original is None or isinstance(original, GraphQLError):
        # Parse and validation errors, variable and argument coercion: the input is off.
        code = (error.extensions or {}).get("code") or "BAD_INPUT"
        message = error.message
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
        code, message = "INTERNAL", INTERNAL_MESSAGE
    return GraphQLError(message, nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path,
                        extensions={"code": code})


def formatted(error: GraphQLError) -> dict:
    return shape(error).formatted
