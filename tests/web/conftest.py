"""Fixtures for the console's tests: the demo catalog on SQLite and PostgreSQL (the shared
`demo_catalog`), a token per role, a browser-like client not signed in yet."""

from __future__ import annotations

import pytest
from web_helpers import Browser, tokens_for

from catalog.services.core import Catalog


@pytest.fixture
def tokens(demo_catalog: Catalog) -> dict[str, str]:
    return tokens_for(demo_catalog)


@pytest.fixture
def browser(demo_catalog: Catalog, tokens: dict[str, str]) -> Browser:
    """Not signed in yet."""
    return Browser(demo_catalog, tokens)
