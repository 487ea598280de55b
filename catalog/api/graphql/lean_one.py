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

A document that takes asOf is kept apart: its pieces hold '"asOf":{"revision":r}' too, and
their decisions, the catalog as it stood at r, hold whatever the catalog does later
(asOf: {time} is left to the general path: later commits may move the revision it means).
Everything else (another shape or spelling, an unknown name, a new document, a revision to
wait for, an as-of index not built yet) returns None, and the general path answers.
"""

from __future__ import annotations

import weakref

from catalog.api.graphql.lean import _held as held  # the lean path's as-of index
from catalog.api.graphql.lean_json import UNKNOWN
from catalog.errors import CatalogError
from catalog.services import checks

MARK = b'"variables":{"field":"'
MAX_BODY = 2048  # larger bodies are not single checks (lean_raw.MIN_BODY)
MAX_PREFIXES = 64  # documents kept: pipelines send a few
MAX_PIECES = 200_000  # decisions kept per snapshot, emptied when full (as CatalogIndex's)


class OneChecks:
    """One endpoint's kept prefixes; for the current snapshot, its pieces' decisions; and
    the decisions of pieces with `asOf: {revision: r}`, which never change (CONTRACT §9: the
    same field, purpose, channel and revision always get the same answer). Bounded:
    MAX_PREFIXES documents, MAX_PIECES decisions of each kind, only of names the catalog
    has. Used on the event loop's thread only."""

    def __init__(self, endpoint) -> None:
        self.endpoint = endpoint
        # prefix -> (query, answer head, selection, whether its check takes asOf)
        self.prefixes: dict[bytes, tuple[str, bytes, object, bool]] = {}
        self.index: weakref.ref | None = None  # the snapshot `pieces` belong to
        self.pieces: dict[bytes, object] = {}
        self.past: dict[bytes, object] = {}

    def answer(self, body: bytes, principal, scope: dict, query_key: str) -> bytes | None:
        """The response body for a single check seen before in this shape, or None."""
        if len(body) > MAX_BODY or body[-2:] != b"}}":
            return None
        cut = body.find(MARK)
        if cut < 0:
            return None
        kept = self.prefixes.get(body[:cut])
        if kept is None:
            return None
        query, head, selection, as_of = kept
        catalog = self.endpoint.catalog
        if as_of:  # a document taking asOf: only pieces that gave one, a revision's answer
            decision = self.past.get(body[cut + len(MARK):])
        else:
            catalog.fresh()
            if self.index is None or self.index() is not catalog.index:
                return None
            decision = self.pieces.get(body[cut + len(MARK):])
        if decision is None:
            return None
        try:
            checks.precheck(principal)
        except CatalogError:  # the caller's role: the general path says so, in its words
            return None
        checks.count(catalog, principal, decision)
        scope[query_key] = query
        return b"".join((head, selection.one(decision), b"}}"))

    def learn(self, body: bytes, payload: dict) -> None:
        """After the general path answered `body`: keep its prefix and piece when it is a
        pipeline's single check in the shape answer() reads."""
        endpoint = self.endpoint
        if len(body) > MAX_BODY or body[-2:] != b"}}" or endpoint.lean is None:
            return
        cut = body.find(MARK)
        if cut < 0:
            return
        if set(payload) - {"query", "operationName", "variables"}:
            return
        variables = payload.get("variables")
        if type(variables) is not dict or list(variables)[:3] != ["field", "purpose",
                                                                  "channel"]:
            return
        names = tuple(variables.values())[:3]
        as_of = len(variables) == 4
        if as_of and (list(variables)[3] != "asOf" or not _revision_only(variables["asOf"])):
            return
        prepared = endpoint.documents.cached(payload.get("query"))
        if len(variables) > 4 or any(type(n) is not str for n in names) or prepared is None:
            return
        plan = endpoint.lean.plan(prepared, payload.get("operationName"))
        single = None if plan is None else plan.single
        if single is None or single[2] != ("field", "purpose", "channel") or \
                single[3] is not None or single[4] != ("asOf" if as_of else None) or \
                plan.plain_variables is None or len(plan.plain_variables) != len(variables):
            return
        index = held(endpoint.catalog, variables["asOf"]) if as_of else endpoint.catalog.index
        if index is None:
            return
        decision = index.check(*names)
        if decision.reasons and decision.reasons[0].code in UNKNOWN:
            return  # never keep what callers make up
        if as_of:
            kept = self.past
        else:
            if self.index is None or self.index() is not index:
                self.index, self.pieces = weakref.ref(index), {}
            kept = self.pieces
        if len(kept) >= MAX_PIECES:
            kept.clear()
        kept[body[cut + len(MARK):]] = decision
        prefix = body[:cut]
        if prefix not in self.prefixes:
            if len(self.prefixes) >= MAX_PREFIXES:
                self.prefixes.clear()
            self.prefixes[prefix] = (payload["query"], single[0], single[1], as_of)


def _revision_only(as_of) -> bool:
    """asOf given as {revision: r} alone: a revision's answer never changes ({time} may
    resolve to a later revision once later commits exist)."""
    return type(as_of) is dict and list(as_of) == ["revision"] and \
        type(as_of["revision"]) is int
