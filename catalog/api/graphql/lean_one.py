"""The pipelines' single check answered from the request's bytes.

A pipeline's check is one document sent again and again with new variables, and an encoder
writes its body the same way every time: the document's part, then
'"variables":{"field":"F","purpose":"P","channel":"C"}}' last. Once the general path has
answered a body of that shape (learn), its prefix (everything before '"variables":') is
kept with the plan's answer head and selection, and the request's piece
('F","purpose":"P","channel":"C', bytes as they came) with its decision, per snapshot. A
later body that is a kept prefix + a kept piece is answered from them: no JSON decoding, no
planning, no executor. Why that is sound: the prefix was followed by exactly this suffix
shape in a body that decoded to {query, operationName?, variables: {field, purpose,
channel}} and holds no '"variables":{"field":"' of its own; a piece was the JSON string
contents of three names in exactly this context. Put together they decode to the same
document and the same three names, whatever body each came from.

Everything else (another shape or spelling, an unknown name, a new document, a revision to
wait for, asOf) returns None, and the general path answers.
"""

from __future__ import annotations

import weakref

from catalog.api.graphql.lean_json import UNKNOWN
from catalog.errors import CatalogError
from catalog.services import checks

MARK = b'"variables":{"field":"'
END = b'"}}'
MAX_BODY = 2048  # larger bodies are not single checks (lean_raw.MIN_BODY)
MAX_PREFIXES = 64  # documents kept: pipelines send a few
MAX_PIECES = 200_000  # decisions kept per snapshot, emptied when full (as CatalogIndex's)


class OneChecks:
    """One endpoint's kept prefixes and, for the current snapshot, pieces (see the module).
    Bounded: MAX_PREFIXES documents, MAX_PIECES decisions, only of names the catalog has.
    Used on the event loop's thread only."""

    def __init__(self, endpoint) -> None:
        self.endpoint = endpoint
        self.prefixes: dict[bytes, tuple[str, bytes, object]] = {}  # -> (query, head, sel.)
        self.index: weakref.ref | None = None  # the snapshot `pieces` belong to
        self.pieces: dict[bytes, object] = {}

    def answer(self, body: bytes, principal, scope: dict, query_key: str) -> bytes | None:
        """The response body for a single check seen before in this shape, or None."""
        cut = body.find(MARK)
        if cut < 0 or len(body) > MAX_BODY or body[-3:] != END:
            return None
        kept = self.prefixes.get(body[:cut])
        if kept is None:
            return None
        catalog = self.endpoint.catalog
        catalog.fresh()
        if self.index is None or self.index() is not catalog.index:
            return None
        decision = self.pieces.get(body[cut + len(MARK):-3])
        if decision is None:
            return None
        try:
            checks.precheck(principal)
        except CatalogError:  # the caller's role: the general path says so, in its words
            return None
        checks.count(catalog, principal, decision)
        query, head, selection = kept
        scope[query_key] = query
        return b"".join((head, selection.one(decision), b"}}"))

    def learn(self, body: bytes, payload: dict) -> None:
        """After the general path answered `body`: keep its prefix and piece when it is a
        pipeline's single check in the shape answer() reads."""
        cut = body.find(MARK)
        endpoint = self.endpoint
        if cut < 0 or len(body) > MAX_BODY or body[-3:] != END or endpoint.lean is None:
            return
        if set(payload) - {"query", "operationName", "variables"}:
            return
        variables = payload.get("variables")
        if type(variables) is not dict or list(variables) != ["field", "purpose", "channel"]:
            return
        names = tuple(variables.values())
        prepared = endpoint.documents.cached(payload.get("query"))
        if any(type(n) is not str for n in names) or prepared is None:
            return
        plan = endpoint.lean.plan(prepared, payload.get("operationName"))
        single = None if plan is None else plan.single
        if single is None or single[2] != ("field", "purpose", "channel") or \
                single[3] is not None or single[4] is not None or \
                plan.plain_variables is None or len(plan.plain_variables) != 3:
            return
        index = endpoint.catalog.index
        decision = index.check(*names)
        if decision.reasons and decision.reasons[0].code in UNKNOWN:
            return  # never keep what callers make up
        if self.index is None or self.index() is not index:
            self.index, self.pieces = weakref.ref(index), {}
        if len(self.pieces) >= MAX_PIECES:
            self.pieces.clear()
        self.pieces[body[cut + len(MARK):-3]] = decision
        prefix = body[:cut]
        if prefix not in self.prefixes:
            if len(self.prefixes) >= MAX_PREFIXES:
                self.prefixes.clear()
            self.prefixes[prefix] = (payload["query"], single[0], single[1])
