"""What POST /graphql requires of a request's headers (GraphQL over HTTP): a JSON body, and
exactly one `Authorization: Bearer <token>`. Each refusal says what to send instead."""

from __future__ import annotations

from catalog.errors import CatalogError

SEND_TOKEN = "send 'Authorization: Bearer <token>'"


class HeaderProblem(CatalogError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def request_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str, bytes | None]:
    """(the bearer token, the content-length header) of an ASGI request; HeaderProblem when
    the content type is not JSON or the Authorization header is missing, repeated or not
    `Bearer <token>`."""
    content_type = size = None
    authorization: list[bytes] = []
    for name, value in headers:
        if name == b"authorization":
            authorization.append(value)
        elif name == b"content-type":
            content_type = value
        elif name == b"content-length":
            size = value
    if content_type != b"application/json" and not is_json(content_type):
        raise HeaderProblem(415, "BAD_INPUT", (
            f"the body's content type is {_shown(content_type)}: send the GraphQL request as "
            "JSON with 'Content-Type: application/json'"))
    if not authorization:
        raise HeaderProblem(401, "UNAUTHENTICATED", f"no token: {SEND_TOKEN}")
    if len(authorization) > 1:
        raise HeaderProblem(401, "UNAUTHENTICATED", (
            f"the request has {len(authorization)} Authorization headers: send exactly one, "
            "'Authorization: Bearer <token>'"))
    return bearer_token(authorization[0].decode("latin-1")), size


def bearer_token(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    # No whitespace inside (str.isspace's characters): split() finds them in C, and returns
    # [token] itself when there are none; a regex search cost ~2,000 instructions a request.
    if scheme.lower() != "bearer" or len(token.split()) != 1:
        raise HeaderProblem(401, "UNAUTHENTICATED", (
            "the Authorization header must be the word Bearer, one space and the token: "
            f"{SEND_TOKEN}"))
    return token


def is_json(content_type: bytes | None) -> bool:
    """application/json, with no parameter but a UTF-8 charset (RFC 8259 JSON is UTF-8)."""
    if content_type is None:
        return False
    media, *params = content_type.decode("latin-1").split(";")
    if media.strip().lower() != "application/json":
        return False
    for param in params:
        key, _, value = param.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"').lower()
        if key != "charset" or value not in ("utf-8", "utf8"):
            return False
    return True


def _shown(content_type: bytes | None) -> str:
    if content_type is None:
        return "not given"
    return repr(content_type.decode("latin-1")[:100])

