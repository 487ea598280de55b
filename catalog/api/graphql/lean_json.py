"""The lean path's answers: decisions written as JSON bytes for one selection, memoized.

A selection (which Decision and Reason fields, under which keys) becomes a `Selection`; its
JSON for a decision is made once and reused while the index keeps handing out the same
Decision object (the index keeps one per (field, purpose, channel) until an input changes or
the revision moves). A checkMany answer is one join of those bytes.

Only the fields in the allow-lists below are known here: a selection with any other field,
or with arguments on a field, is refused at plan time (the lean planner hands the document to
strawberry), so a field added to the schema cannot be silently left out.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from catalog.api.graphql.raw_cells import RawCells
from catalog.domain import cell_ids
from catalog.domain.decision import Decision, ReasonCode

REASON_FIELDS: dict[str, Callable[[Any], Any]] = {
    "code": lambda r: r.code,  # a StrEnum: serialized as its value
    "message": lambda r: r.message,
    "rule": lambda r: r.rule,
    "path": lambda r: list(r.path) if r.path is not None else None,
    "__typename": lambda r: "Reason",
}
DECISION_FIELDS: dict[str, Callable[[Decision], Any]] = {
    "allowed": lambda d: d.allowed,
    "field": lambda d: d.field,
    "purpose": lambda d: d.purpose,
    "channel": lambda d: d.channel,
    "obligations": lambda d: list(d.obligations),
    "effectiveCategories": lambda d: list(d.effective_categories),
    "revision": lambda d: d.revision,
    "intensity": lambda d: d.intensity,
    "__typename": lambda d: "Decision",
    "reasons": lambda d: d.reasons,  # its sub-selection is applied in _builder
}
UNKNOWN = frozenset((ReasonCode.UNKNOWN_FIELD, ReasonCode.UNKNOWN_PURPOSE,
                     ReasonCode.UNKNOWN_CHANNEL))

# The memos of all selections together: bounded by entries and by bytes, all dropped at once
# when either is exceeded (they refill from the index's own cache in microseconds). The byte
# bound holds 20,000 full decisions with long lineage paths (~7 KB each): below its working
# set a memo is dropped over and over and every answer is written again.
MEMO_ENTRIES = 200_000
MEMO_BYTES = 192 * 1024 * 1024
_memos: weakref.WeakSet[Selection] = weakref.WeakSet()
_usage = {"entries": 0, "bytes": 0}


class NotLean(Exception):
    """The selection uses something this path does not know: strawberry answers."""


class Selection:
    """JSON bytes of decisions for one selection, memoized by id(decision). `keep` holds each
    memoized decision, so no other object can take its id while the entry lives: a hit by id
    is always the same decision, and a batch is looked up and joined in C loops."""

    def __init__(self, build: Callable[[Decision], dict]) -> None:
        self.build = build
        self.memo: dict[int, bytes] = {}
        self.keep: dict[int, Decision] = {}
        # One bytes object per distinct answer: most decisions of a pipeline's selection
        # read alike, so a batch's join copies from a few objects the cache already holds.
        self.shared: dict[bytes, bytes] = {}
        # The pipelines' checkMany (lean_raw.py), for one snapshot at a time.
        self.raw: RawTable | None = None
        _memos.add(self)

    def raw_table(self, index) -> RawTable:
        """The raw table of this snapshot (a new one when the snapshot changes)."""
        raw = self.raw
        if raw is None or raw.index() is not index:
            raw = self.raw = RawTable(index)
        return raw

    def remember(self, table: RawTable, pieces: list[bytes], decisions: list[Decision],
                 prefix: bytes) -> tuple[RawTable, list[int]]:
        """Each request's id in the raw table, added where new; the decisions are the
        index's own for these exact request bytes (never an unknown name), written in the
        style whose tokens start with `prefix` (raw_cells.py). The table may be a new one
        (the memos' bound was reached)."""
        if _usage["entries"] + len(pieces) >= MEMO_ENTRIES:
            index = table.index()
            clear_memos()
            if index is None:  # pragma: no cover  (the caller holds the snapshot)
                raise RuntimeError("raw table without its snapshot")
            table = self.raw_table(index)
        cells, get = table.cells, table.cells.get
        before = len(cells)
        out, tokens, new = [], [], []
        for piece, d in zip(pieces, decisions, strict=True):
            cell_id = get(piece)
            if cell_id is None:
                cell_id = cells[piece] = table.add(d, self.one(d))
                tokens.append(b"".join((prefix, piece, b'"}')))
                new.append(cell_id)
            out.append(cell_id)
        table.vector.add(tokens, new)
        _usage["entries"] += len(cells) - before
        # ~250 bytes of dict entry, key and lists a cell, and its row in the vector table.
        _usage["bytes"] += (250 + 3 * table.vector.width // 2) * (len(cells) - before)
        return table, out

    def one(self, d: Decision) -> bytes:
        return self.memo.get(id(d)) or self._add(d)

    def many(self, decisions: list[Decision]) -> bytes:
        """The decisions' JSON objects joined by commas (the caller adds the brackets, in
        its one join of the whole answer)."""
        try:
            return b",".join(map(self.memo.__getitem__, map(id, decisions)))
        except KeyError:  # some not memoized yet (or unknown names, never memoized)
            get, add = self.memo.get, self._add
            return b",".join([get(id(d)) or add(d) for d in decisions])

    def _add(self, d: Decision) -> bytes:
        data = orjson.dumps(self.build(d))
        # Never keep what callers make up: an unknown name is answered, not remembered.
        if d.reasons and d.reasons[0].code in UNKNOWN:
            return data
        if _usage["entries"] >= MEMO_ENTRIES or _usage["bytes"] + len(data) > MEMO_BYTES:
            clear_memos()
        data = self.shared.setdefault(data, data)
        self.memo[id(d)] = data
        self.keep[id(d)] = d
        _usage["entries"] += 1
        _usage["bytes"] += len(data) + 200  # the entries themselves
        return data


class RawTable:
    """One snapshot's pipeline checkMany answers for one selection (lean_raw.py): request
    bytes -> the cell's id (domain/cell_ids.py), found for a whole list at once by `vector`
    (raw_cells.py) or one piece at a time by `cells`, and by id its decision, whether it is
    allowed and its answer's bytes. Answers are few distinct bytes objects (most decisions
    of a pipeline's selection read alike): an id's answer is a class, so a batch's answer
    is one numpy gather and one join, with no Python object per decision. A batch's ids
    pack into one buffer numpy reads for the allowed count and the decision log's counts
    (decision_log.py). Only added to, never changed: a queued batch's ids keep their
    meaning while it holds its table."""

    __slots__ = ("index", "cells", "vector", "decisions", "_allowed", "_classes", "_class_of",
                 "_answers", "__weakref__")

    def __init__(self, index) -> None:
        self.index = weakref.ref(index)
        self.cells: dict[bytes, int] = {}
        self.vector = RawCells()
        self.decisions: list[Decision | None] = [None]  # by id; ids start at 1
        self._allowed = np.zeros(1024, dtype=bool)
        self._classes = np.zeros(1024, dtype=np.uint32)  # by id: its answer's class
        self._class_of: dict[bytes, int] = {}
        self._answers = np.empty(16, dtype=object)  # by class

    def add(self, d: Decision, answer: bytes) -> int:
        cell_id = cell_ids.make(len(self.decisions))
        if cell_id >= len(self._allowed):  # new arrays: readers keep the ones they hold
            self._allowed = _grown(self._allowed, 2 * cell_id)
            self._classes = _grown(self._classes, 2 * cell_id)
        self._allowed[cell_id] = d.allowed
        self._classes[cell_id] = self._class(answer)
        self.decisions.append(d)
        return cell_id

    def _class(self, answer: bytes) -> int:
        found = self._class_of.get(answer)
        if found is None:
            found = self._class_of[answer] = len(self._class_of)
            if found >= len(self._answers):
                self._answers = _grown(self._answers, 2 * found)
            self._answers[found] = answer
        return found

    @property
    def size(self) -> int:
        """Every id is below."""
        return len(self.decisions)

    def join(self, ids: np.ndarray) -> bytes:
        """The answers of these ids, joined by commas."""
        return b",".join(self._answers[self._classes[ids]].tolist())

    def allowed_in(self, packed: bytes) -> int:
        """How many of a batch's decisions (its ids packed) are allowed."""
        return int(np.count_nonzero(self._allowed[cell_ids.ids_of(packed)]))


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=array.dtype) if array.dtype != object else np.empty(size, object)
    out[:len(array)] = array
    return out


def clear_memos() -> None:
    for selection in list(_memos):
        selection.memo.clear()
        selection.keep.clear()
        selection.shared.clear()
        selection.raw = None  # batches still queued keep theirs
    _usage["entries"] = _usage["bytes"] = 0


def memo_usage() -> dict[str, int]:
    return dict(_usage)


def decision_selection(nodes: list[FieldNode], fragments: dict) -> Selection:
    """The Selection for these (merged) `check`/`checkMany` field nodes; NotLean when it
    asks for anything outside the allow-lists."""
    return Selection(_builder(nodes, fragments, "Decision", DECISION_FIELDS))


def _builder(nodes: list[FieldNode], fragments: dict, type_name: str,
             allowed: dict[str, Callable]) -> Callable[[Any], dict]:
    getters: list[tuple[str, Callable]] = []
    for key, more in sub_fields(nodes, type_name, fragments).items():
        name = more[0].name.value
        get = allowed.get(name)
        if get is None or any(n.arguments for n in more):
            raise NotLean(f"{type_name}.{name}")
        if name == "reasons":
            reason = _builder(more, fragments, "Reason", REASON_FIELDS)
            getters.append((key, lambda d, reason=reason: [reason(r) for r in d.reasons]))
        else:
            getters.append((key, get))
    return lambda d: {key: get(d) for key, get in getters}


def collect(selection_set: SelectionSetNode, type_name: str,
            fragments: dict) -> dict[str, list[FieldNode]]:
    """GraphQL's CollectFields for a concrete object type: response key -> its field nodes,
    in document order."""
    out: dict[str, list[FieldNode]] = {}

    def walk(sel: SelectionSetNode, seen: set[str]) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                key = s.alias.value if s.alias else s.name.value
                out.setdefault(key, []).append(s)
            elif isinstance(s, InlineFragmentNode):
                if s.type_condition is None or s.type_condition.name.value == type_name:
                    walk(s.selection_set, seen)
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                frag = fragments.get(name)
                if name in seen or frag is None or frag.type_condition.name.value != type_name:
                    continue
                seen.add(name)
                walk(frag.selection_set, seen)

    walk(selection_set, set())
    return out


def sub_fields(nodes: list[FieldNode], type_name: str,
               fragments: dict) -> dict[str, list[FieldNode]]:
    merged: dict[str, list[FieldNode]] = {}
    for node in nodes:
        if node.selection_set is not None:
            for key, more in collect(node.selection_set, type_name, fragments).items():
                merged.setdefault(key, []).extend(more)
    return merged
