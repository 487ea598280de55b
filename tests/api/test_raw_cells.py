"""The vectorized token -> cell id table of the pipelines' checkMany (raw_cells.py): it finds
exactly the ids a dict of the same tokens gives, or says it cannot (None), never another."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from catalog.api.graphql import raw_cells
from catalog.api.graphql.raw_cells import RawCells

COMPACT, SPACED = b",", b", "


def token(field: str, purpose: str, channel: str, gap: bytes) -> bytes:
    """A request object as the style writes it (orjson compact, json.dumps spaced)."""
    obj = {"field": field, "purpose": purpose, "channel": channel}
    return orjson.dumps(obj) if gap == COMPACT else json.dumps(obj).encode()


def listed(tokens: list[bytes], gap: bytes) -> bytes:
    return b"[" + gap.join(tokens) + b"]"


def kept(requests, gap=COMPACT, table=None, first=1):
    table = table or RawCells()
    tokens = [token(*r, gap) for r in requests]
    ids = list(range(first, len(tokens) + first))
    table.add(tokens, ids)
    return table, dict(zip(tokens, ids, strict=True))


def reference(body: bytes, gap: bytes, ids: dict[bytes, int]) -> list[int] | None:
    """What a dict gives for the list, token by token (None: some token not kept)."""
    requests = json.loads(body)
    found = [ids.get(token(r["field"], r["purpose"], r["channel"], gap)) for r in requests]
    return None if None in found else found


NAMES = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)
REQUESTS = st.lists(st.tuples(NAMES, st.sampled_from(["service", "marketing.direct"]),
                              st.sampled_from(["email", "web"])), min_size=1, max_size=60,
                    unique=True)


@settings(max_examples=150, deadline=None)
@given(REQUESTS, st.data(), st.sampled_from([COMPACT, SPACED]))
def test_lookup_agrees_with_a_dict(requests, data, gap):
    """Any names (quotes, backslashes, braces, unicode, long ones): the ids found are the
    dict's, in order, duplicates included; a list with a token not kept is never answered;
    only names holding a '}' or tokens past the width bound may make it say None."""
    table, ids = kept(requests, gap)
    asked = data.draw(st.lists(st.sampled_from(requests), min_size=1, max_size=80))
    extra = data.draw(st.lists(st.tuples(NAMES, st.just("service"), st.just("web")),
                               max_size=2))
    asked += [r for r in extra if r not in requests]
    body = listed([token(*r, gap) for r in asked], gap)
    got = table.lookup(body, gap)
    want = reference(body, gap, ids)
    event("answered" if got is not None else "left to the dict")
    if got is not None:
        assert got.dtype == np.uint32 and got.tolist() == want
    else:
        plain = all("}" not in r[0] and len(token(*r, gap)) <= raw_cells.MAX_WIDTH
                    for r in asked)
        assert want is None or not plain


def test_a_list_of_kept_tokens_is_answered_and_anything_else_is_not():
    requests = [(f"customer.f{i}", "service", "web") for i in range(500)]
    table, ids = kept(requests)
    body = listed([token(*r, COMPACT) for r in requests[::-1]], COMPACT)
    assert table.lookup(body, COMPACT).tolist() == list(range(500, 0, -1))
    for bad in [body[:-1] + b" ]", body.replace(b"},{", b"}, {", 1), body[1:],
                body.replace(b"f1", b"f1x", 1), body.replace(b'"web"', b'"Web"', 1),
                body.replace(b'"}', b'" }', 1), body.replace(b"},{", b"}x{", 1),
                body.replace(b"},{", b"},\x00{", 1), b"[]", b"[{}]"]:
        assert table.lookup(bad, COMPACT) is None, bad[:80]
    assert table.lookup(body, SPACED) is None  # the gap is the style's


def test_two_styles_in_one_table():
    table, _ = kept([("a", "service", "web")], COMPACT)
    kept([("a", "service", "web")], SPACED, table, first=2)  # a cell of its own
    assert table.lookup(b'[{"field":"a","purpose":"service","channel":"web"}]', COMPACT) == [1]
    assert table.lookup(b'[{"field": "a", "purpose": "service", "channel": "web"}]',
                        SPACED) == [2]


def test_tokens_longer_than_the_width_widen_it_and_past_the_bound_stay_out():
    short = ("a", "service", "web")
    longer = ("b" * 150, "service", "web")
    too_long = ("c" * raw_cells.MAX_WIDTH, "service", "web")
    table, _ = kept([short, longer, too_long])
    assert table.width >= len(token(*longer, COMPACT)) and table.count == 2
    both = listed([token(*short, COMPACT), token(*longer, COMPACT)], COMPACT)
    assert table.lookup(both, COMPACT).tolist() == [1, 2]
    assert table.lookup(listed([token(*too_long, COMPACT)], COMPACT), COMPACT) is None


@pytest.mark.parametrize("same", [1, 2, 3, 40])
def test_cells_with_one_hash_are_told_apart_by_their_rows(same):
    """Hashes that collide (forced here: the hash reads only the token's second word, which
    groups of `same` names share) never give a wrong id: two with one hash sit in its two
    slots and are both found; a third can't be placed and is left to the dict (None for
    lists holding it)."""
    table = RawCells()
    table._mul[:] = 0
    table._mul[1] = 0x9E3779B97F4A7C15  # bytes 8-15: ':"g000xx' (the group's number)
    requests = [(f"g{i // same:03d}xxxx{i}", "service", "web") for i in range(120)]
    _, ids = kept(requests, table=table)
    found = 0
    for r in requests:
        got = table.lookup(listed([token(*r, COMPACT)], COMPACT), COMPACT)
        if got is not None:
            found += 1
            assert got.tolist() == [ids[token(*r, COMPACT)]]
    # At most two of a group fit (its two slots); groups whose slots overlap may lose one
    # more to the kicks.
    placeable = min(same, 2) * 120 // same
    assert found == table.count and 0.9 * placeable <= found <= placeable


def test_growth_keeps_every_cell_findable():
    table = RawCells()
    requests = [(f"x{i}", "service", "web") for i in range(5000)]
    for start in range(0, 5000, 700):  # several adds, several rehashes
        chunk = requests[start:start + 700]
        table.add([token(*r, COMPACT) for r in chunk], list(range(start + 1, start + 1 +
                                                                  len(chunk))))
    assert table.count == 5000 and len(table._slots) >= 3 * 5000
    body = listed([token(*r, COMPACT) for r in requests], COMPACT)
    assert table.lookup(body, COMPACT).tolist() == list(range(1, 5001))
