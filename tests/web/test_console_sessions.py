"""Sign-in, sessions, sign-out, CSRF (docs/semantics.md §13), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from web_helpers import Browser

from catalog.services.auth import SYSTEM, revoke_token
from catalog.web.console import COOKIE

PAGES = ["/", "/fields", "/fields/crm.customers.email", "/check?field=x", "/rules",
         "/changes", "/log", "/unclassified", "/spectrum", "/gaps", "/notice",
         "/overcrowding?since=2026-01-01"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_signin_without_a_session(browser, path):
    r = browser.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin?next=")


@pytest.mark.parametrize("role", ["admin", "owner", "reviewer"])
def test_signin_sets_a_strict_http_only_session_cookie(browser, role):
    form = browser.get("/signin")
    assert form.status_code == 200 and 'name="token"' in form.text
    r = browser.client.post("/signin", data={"token": browser.tokens[role], "next": "/rules"})
    assert r.status_code == 303 and r.headers["location"] == "/rules"
    cookie = r.headers["set-cookie"].lower()
    assert f"{COOKIE}=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain HTTP here
    page = browser.get("/rules")
    assert page.status_code == 200 and role in page.text


def test_signin_over_https_marks_the_cookie_secure(demo_catalog, tokens):
    b = Browser(demo_catalog, tokens, base_url="https://catalog.test")
    r = b.client.post("/signin", data={"token": tokens["reviewer"]})
    assert "secure" in r.headers["set-cookie"].lower()


def test_signin_never_redirects_off_site(browser):
    r = browser.client.post("/signin", data={"token": browser.tokens["reviewer"],
                                             "next": "//evil.example/x"})
    assert r.headers["location"] == "/fields"


@pytest.mark.parametrize(("token", "status", "words"), [
    ("pc_not-a-token", 401, "not valid"), ("", 401, "paste a token"),
    ("pipeline", 403, "pipeline tokens")])
def test_refused_signin_shows_the_form_again_and_sets_no_session(browser, token, status, words):
    token = browser.tokens.get(token, token)
    r = browser.client.post("/signin", data={"token": token})
    assert r.status_code == status
    assert words in r.text and 'name="token"' in r.text
    assert "set-cookie" not in r.headers
    assert browser.get("/fields").status_code == 303


def test_a_revoked_token_cannot_sign_in_and_its_sessions_end(demo_catalog, tokens):
    b = Browser(demo_catalog, tokens)
    b.sign_in("reviewer")
    assert b.get("/fields").status_code == 200
    token_id = next(t.id for t in _tokens(demo_catalog) if t.name == "web-reviewer")
    revoke_token(demo_catalog, SYSTEM, token_id)
    assert b.get("/fields").status_code == 303  # the session ended with its token
    r = Browser(demo_catalog, tokens).client.post("/signin", data={"token": tokens["reviewer"]})
    assert r.status_code == 401 and "set-cookie" not in r.headers


def _tokens(cat):
    from catalog.services.auth import list_tokens
    return list_tokens(cat, SYSTEM)


def test_signout_ends_the_session_on_the_server(demo_catalog, tokens):
    b = Browser(demo_catalog, tokens)
    b.sign_in("reviewer")
    cookie = b.client.cookies[COOKIE]
    r = b.post("/signout")
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    # The old cookie, replayed by someone who kept it, no longer works.
    replay = Browser(demo_catalog, tokens)
    replay.client.cookies.set(COOKIE, cookie)
    assert replay.get("/fields").status_code == 303


def test_signout_without_csrf_token_is_refused_and_the_session_stays(demo_catalog, tokens):
    b = Browser(demo_catalog, tokens)
    b.sign_in("reviewer")
    r = b.post("/signout", csrf=False)
    assert r.status_code == 403 and "csrf_token" in r.text
    r = b.post("/signout", {"csrf_token": "forged"}, csrf=False)
    assert r.status_code == 403
    assert b.get("/fields").status_code == 200


def test_a_session_works_on_every_worker(demo_catalog, tokens, catalog_factory):
    """Sessions live in the database: another process (another Catalog) honours them."""
    b = Browser(demo_catalog, tokens)
    b.sign_in("reviewer")
    other = Browser(catalog_factory(str(demo_catalog.engine.url.render_as_string(
        hide_password=False))), tokens)
    other.client.cookies.set(COOKIE, b.client.cookies[COOKIE])
    assert other.get("/fields").status_code == 200


def test_a_console_session_never_authenticates_post_graphql(demo_catalog, tokens):
    b = Browser(demo_catalog, tokens)
    b.sign_in("admin")
    r = b.client.post("/graphql", json={"query": "{ field(name: \"crm.customers.email\") "
                                                 "{ name } }"})
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_post_without_a_session_is_refused(browser):
    r = browser.post("/rules", {"key": "x", "effect": "DENY"}, csrf=False)
    assert r.status_code == 403 and "sign in" in r.text
