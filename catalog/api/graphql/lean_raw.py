"""The pipelines' checkMany answered from the request's bytes.

A checkMany of 1,000 spent most of its time turning the body into Python objects: a dict and
three strings per request (orjson), a tuple per request, and hashing those fresh strings to
find each decision. Pipelines send the same shape every time (one document; its variables a
list of {field, purpose, channel} objects written by a JSON encoder and perhaps an Int for
atLeastRevision, as catalog.client sends), so here the body is
only validated (msgspec, leaving each variable's value as its raw bytes) and the request
list is looked up whole in the raw table of the snapshot and selection (lean_json.RawTable):
its tokens ('{"field":"F","purpose":"P","channel":"C"}') become cell ids in one pass of
numpy (raw_cells.py), and by id the answers' bytes. What that pass leaves out (a request not
answered before from this snapshot, a '}' in a name, a very long token) is cut at the
'"},{"field":"' separators and each piece, bytes as it came ('F","purpose":"P","channel":
"C'), looked up in the table's dict, filled from the index, which keeps its decisions under
exactly those bytes once it has answered them (CatalogIndex.check_many_raw, raw_keys).

Why cutting is sound: when every piece is a key, the list is '[{"field":"' + the keys
joined by the separator + '"}]', which is exactly the JSON text of those requests, read one
way only: a key holds its names as JSON string contents, where every '"' is escaped, so no
key holds a separator and the cut gives back the keys themselves. So the list needs no
decoding of its own: msgspec decodes the body around it, with the list replaced by '[]'
(_around_list), and a list that does not cut into keys goes to the general path. Anything
else (another shape, spacing or key order, escapes, a name the catalog lacks, a request not
answered before from this snapshot, a role or batch problem, a revision to wait for) returns
None and the general path answers and reports, in GraphQL's words.
"""

from __future__ import annotations

import struct

import msgspec

from catalog.domain import cell_ids
from catalog.domain.index import RAW_STYLES, note_raw_style
from catalog.errors import CatalogError
from catalog.services import checks
from catalog.services.fields import MAX_BATCH

# Bodies below this size go straight to the general path: a single check (~250 bytes) must
# not pay for a second decode.
MIN_BODY = 2048
_OPENINGS = {b'[{"field":"': b'"},{"field":"', b'[{"field": "': b'"}, {"field": "'}


class _Body(msgspec.Struct):
    query: str
    operationName: str | None = None  # noqa: N815 (the GraphQL-over-HTTP key)
    variables: dict[str, msgspec.Raw] | None = None


_decode = msgspec.json.Decoder(_Body).decode
_ODD = object()  # a value the general path must look at


def answer(endpoint, body: bytes, principal, scope: dict, query_key: str) -> bytes | None:
    """The response body for a pipeline's checkMany all answered before from the current
    snapshot, or None: then the general path answers (and fills the index's keys)."""
    if len(body) < MIN_BODY or endpoint.lean is None:
        return None
    payload, listed = _around_list(body)
    if payload is None:
        try:
            payload = _decode(body)
        except msgspec.DecodeError:  # not JSON, or not this shape: the general path says why
            return None
    if not payload.variables:
        return None
    prepared = endpoint.documents.cached(payload.query)
    if prepared is None:  # a new document: note how its requests are written, for next time
        for raw in [*payload.variables.values(), listed or b""]:
            _style(bytes(raw), endpoint.catalog)
        return None
    plan = endpoint.lean.plan(prepared, payload.operationName)
    if plan is None or plan.many is None:
        return None
    prefix, selection, name, at_least = plan.many
    raw = payload.variables.get(name)
    if listed is not None and (raw is None or bytes(raw) != b"[]"):
        # The list found was not this variable's: decode it all after all.
        listed = None
        try:
            payload = _decode(body)
        except msgspec.DecodeError:  # pragma: no cover  (its rest decoded: so does it)
            return None
        raw = payload.variables.get(name)
    wait = _revision(payload.variables.get(at_least)) if at_least is not None else None
    requests = listed if listed is not None else bytes(raw) if raw is not None else None
    style = _style(requests, endpoint.catalog) if requests is not None else None
    if style is None:
        return None
    opening, separator, gap = style
    try:
        index = checks.raw_snapshot(endpoint.catalog, principal)
    except CatalogError:  # the caller's role: reported by the general path
        return None
    if wait is not None and (wait is _ODD or index.revision < wait):
        return None  # the general path waits for the revision (or says what is wrong)
    table = selection.raw_table(index)
    ids = table.vector.lookup(requests, gap)
    if ids is None:  # one piece at a time (a '}' in a name, a request not kept yet, ...)
        pieces = requests[len(opening):-3].split(separator)
        if len(pieces) > MAX_BATCH:
            return None
        try:
            packed = cell_ids.pack(list(map(table.cells.get, pieces)))
        except struct.error:  # a miss (None): not all answered before from this snapshot
            decisions = index.check_many_raw(pieces)
            if decisions is None:
                return None
            table, found = selection.remember(table, pieces, decisions, opening[1:])
            packed = cell_ids.pack(found)
        ids = cell_ids.ids_of(packed)
    elif len(ids) > MAX_BATCH:
        return None
    else:
        packed = ids.tobytes()
    checks.record_ids(endpoint.catalog, principal, table, packed)
    scope[query_key] = payload.query
    return b"".join((prefix, table.join(ids), b"]}}"))


def _around_list(body: bytes) -> tuple[_Body | None, bytes | None]:
    """The body decoded without its request list, and the list's bytes: msgspec reads a
    few hundred bytes, not the 60 KB of a batch of 1,000 (which the table lookups then
    vouch for, see the module's docstring). (None, None) when the list is not found this
    way, or not alone: the caller decodes the whole body.

    The list is taken from its first '[{"field":' to its last '"}]' and replaced by '[]';
    the rest must then decode, hold '[]' nowhere else, and give the checkMany variable
    exactly '[]' (checked by the caller once it knows the variable's name). Then the body
    is that rest with this variable's value written out, and nothing else differs."""
    start = body.find(b'[{"field":')
    end = body.rfind(b'"}]') + 3
    if start < 0 or end <= start + 3:
        return None, None
    rest = b"".join((body[:start], b"[]", body[end:]))
    if rest.count(b"[]") != 1:
        return None, None
    try:
        return _decode(rest), body[start:end]
    except msgspec.DecodeError:
        return None, None


def _revision(raw) -> int | object | None:
    """atLeastRevision's raw value: None when null or left out, the number when it is a
    plain non-negative integer in GraphQL's Int range, else _ODD."""
    if raw is None:
        return None
    text = bytes(raw)
    if text == b"null":
        return None
    if not text.isdigit() or len(text) > 10 or (len(text) > 1 and text[0] == 48):
        return _ODD
    value = int(text)
    return value if value < 2**31 else _ODD


def _style(raw: bytes, catalog) -> tuple[bytes, bytes, bytes] | None:
    """How a JSON list of requests is written, one of RAW_STYLES: its opening, the
    separator between two requests and the gap between two of its objects; None for any
    other list."""
    opening = raw[:11] if raw[:11] in _OPENINGS else raw[:12]
    separator = _OPENINGS.get(opening)
    if separator is None or raw[-3:] != b'"}]':
        return None
    if note_raw_style(separator):  # from now on the index keeps this style's keys too
        catalog.index.forget_flat()
    return opening, separator, separator[2:-len(opening) + 1]


assert set(_OPENINGS.values()) == set(RAW_STYLES)
