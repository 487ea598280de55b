"""Sign-in, sign-out, and the console's front door."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from catalog.errors import CatalogError
from catalog.services import sessions
from catalog.web.console import COOKIE, Console, Page

HOME = "/fields"


def safe_next(target: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def signin_form(web: Console, page: Page) -> Response:
    return web.render(page, "signin.html", next=safe_next(page.arg("next")))


def signin(web: Console, page: Page) -> Response:
    target = safe_next(page.value("next"))
    try:
        session = sessions.sign_in(web.catalog, page.value("token"))
    except CatalogError as exc:
        status = 403 if exc.code == "FORBIDDEN" else 401
        return web.render(page, "signin.html", status, next=target, error=exc.message)
    response = RedirectResponse(target, 303)
    response.set_cookie(COOKIE, session.cookie, max_age=int(sessions.LIFETIME.total_seconds()),
                        path="/", httponly=True, samesite="strict",
                        secure=page.request.url.scheme == "https")
    return response


def signout(web: Console, page: Page) -> Response:
    sessions.sign_out(web.catalog, page.request.cookies.get(COOKIE))
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=page.request.url.scheme == "https")
    return response


def home(web: Console, page: Page) -> Response:
    return RedirectResponse(HOME, 303)


ROUTES = [
    ("/", home, ["GET"], False),
    ("/signin", signin_form, ["GET"], True),
    ("/signin", signin, ["POST"], True),
    ("/signout", signout, ["POST"], False),
]
