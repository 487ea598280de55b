"""Fixtures for the pure domain tests (no database): the seed taxonomy and rules, parsed from
seeds/*.yaml, and a factory for in-memory catalog indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from engine_helpers import build, extended_spec, seed_rules, seed_taxonomy, taxonomy_from_spec

from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.rules import PolicyRule
from catalog.domain.taxonomy import Taxonomy


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return seed_taxonomy()


@pytest.fixture(scope="session")
def rules(taxonomy: Taxonomy) -> list[PolicyRule]:
    return seed_rules(taxonomy)


@pytest.fixture(scope="session")
def ext_taxonomy() -> Taxonomy:
    return taxonomy_from_spec(extended_spec())


MakeIndex = Callable[..., CatalogIndex]


@pytest.fixture
def make_index(taxonomy: Taxonomy, rules: list[PolicyRule]) -> MakeIndex:
    """make_index(fields, edges=(), rules=None, taxonomy=None, revision=1): an index on the
    seed taxonomy and rules unless told otherwise; edges are validated first."""

    def make(fields: Iterable[FieldRecord], edges: Iterable[Edge] = (), *,
             rules: Iterable[PolicyRule] | None = None, taxonomy: Taxonomy | None = None,
             revision: int = 1) -> CatalogIndex:
        tax = taxonomy if taxonomy is not None else taxonomy_default
        return build(tax, rules if rules is not None else rules_default, fields, edges,
                     revision=revision)

    taxonomy_default, rules_default = taxonomy, rules
    return make
