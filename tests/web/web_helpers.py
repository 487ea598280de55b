"""Helpers for the console's tests: a browser-like client over the app in process
(Starlette's TestClient, no lifespan) and a token per role."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

with warnings.catch_warnings():  # starlette would like httpx2; httpx works as well here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from catalog.api.app import create_app
from catalog.services.auth import SYSTEM, create_token
from catalog.services.core import Catalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from api_helpers import assert_no_leak  # noqa: E402

ROLES = {"admin": ("admin", None), "reviewer": ("reviewer", None),
         "pipeline": ("pipeline", None), "owner": ("owner", "crm.")}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A console user: a cookie jar over the app, signed in or not."""

    def __init__(self, cat: Catalog, tokens: dict[str, str],
                 base_url: str = "http://catalog.test") -> None:
        self.catalog = cat
        self.tokens = tokens
        self.client = TestClient(create_app(cat, background_sync=False), base_url=base_url,
                                 follow_redirects=False)

    def get(self, path: str, **kw):
        r = self.client.get(path, **kw)
        assert r.status_code != 500 and not (r.status_code == 200 and not r.text)
        if r.headers.get("content-type", "").startswith("text/html"):
            assert_no_leak(r.text)
        return r

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        r = self.client.post(path, data=data, **kw)
        assert r.status_code != 500, r.text
        assert_no_leak(r.text)
        return r

    def sign_in(self, role: str):
        r = self.client.post("/signin", data={"token": self.tokens[role]})
        assert r.status_code == 303, r.text
        return r

    def csrf(self) -> str:
        match = CSRF.search(self.get("/changes").text)
        assert match, "no csrf_token on the page: not signed in?"
        return match.group(1)


def tokens_for(cat: Catalog) -> dict[str, str]:
    return {name: create_token(cat, SYSTEM, role=role, scope=scope, name=f"web-{name}")[1]
            for name, (role, scope) in ROLES.items()}


def signed_in(demo_catalog: Catalog, tokens: dict[str, str], role: str) -> Browser:
    b = Browser(demo_catalog, tokens)
    b.sign_in(role)
    return b
