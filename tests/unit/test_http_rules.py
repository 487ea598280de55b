"""The bearer token rule (api/http_rules.py) on its own: the word Bearer, and one token with no
whitespace in it, by str.isspace's definition (every Latin-1 character a header can carry)."""

from __future__ import annotations

import pytest

from catalog.api.http_rules import HeaderProblem, bearer_token

TOKEN = "pc_HrBCu8nzhcvMQR0raPWubz3XsrRwiV-NgdXz7MMhrN0"


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f" BEARER  {TOKEN}\t"])
def test_the_token_is_taken_out(header):
    assert bearer_token(header) == TOKEN


@pytest.mark.parametrize("char", [c for c in map(chr, range(256)) if c.isspace()])
def test_whitespace_inside_the_token_is_refused(char):
    with pytest.raises(HeaderProblem):
        bearer_token(f"Bearer {TOKEN[:9]}{char}{TOKEN[9:]}")


@pytest.mark.parametrize("char", [c for c in map(chr, range(256)) if not c.isspace()])
def test_any_other_character_is_part_of_the_token(char):
    assert bearer_token(f"Bearer {TOKEN[:9]}{char}{TOKEN[9:]}") == f"{TOKEN[:9]}{char}{TOKEN[9:]}"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Bearer \t ", TOKEN,
                                    f"Basic {TOKEN}", f"Bearer {TOKEN} {TOKEN}"])
def test_anything_else_is_refused(header):
    with pytest.raises(HeaderProblem):
        bearer_token(header)
