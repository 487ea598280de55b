"""Domain errors. Each carries the GraphQL `extensions.code` it maps to and a message that says
what to fix. The API and CLI translate them; nothing else should be shown to a caller."""

from __future__ import annotations


class CatalogError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(CatalogError):
    code = "BAD_INPUT"


class NotFound(CatalogError):
    code = "NOT_FOUND"


class Conflict(CatalogError):
    code = "CONFLICT"


class Unauthenticated(CatalogError):
    code = "UNAUTHENTICATED"


class Forbidden(CatalogError):
    code = "FORBIDDEN"
