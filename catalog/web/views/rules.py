"""/rules: every policy rule; reviewers and admins add, edit and delete them."""

from __future__ import annotations

import re

from starlette.responses import RedirectResponse, Response

from catalog.domain.rules import CRITERIA, rule_to_spec
from catalog.errors import BadInput, CatalogError, Forbidden
from catalog.services import inspect, policy
from catalog.services.auth import require
from catalog.web.console import STATUS, Console, Page

SPLIT = re.compile(r"[\s,]+")


def may_manage(page: Page) -> bool:
    try:
        require(page.principal, "manage_rules")
    except Forbidden:
        return False
    return True


def rules_page(web: Console, page: Page, *, status: int = 200, error: str | None = None,
               typed: dict | None = None) -> Response:
    rules = policy.list_rules(web.catalog, page.principal)
    keys = {r.key for r in rules}
    return web.render(page, "rules.html", status, rules=rules, can_edit=may_manage(page),
                      specs={r.key: rule_to_spec(r) for r in rules}, criteria=CRITERIA,
                      keys=inspect.taxonomy_keys(web.catalog, page.principal),
                      error=error, typed=typed or {}, saved=page.arg("saved"),
                      edit_key=page.arg("edit") if page.arg("edit") in keys else "")


def show(web: Console, page: Page) -> Response:
    return rules_page(web, page)


def spec_from_form(page: Page) -> tuple[str, dict]:
    key = page.value("key")
    if not key:
        raise BadInput("give the rule a key, such as no-location-ads")
    spec: dict = {"effect": page.value("effect"), "description": page.value("description")}
    sens = page.value("min_sensitivity")
    if sens:
        if not sens.isdigit():
            raise BadInput(f"rule {key!r}: minimum sensitivity must be 1-4, not {sens[:20]!r}")
        spec["min_sensitivity"] = int(sens)
    for name in CRITERIA:
        listed = [k for k in SPLIT.split(page.value(name)) if k]
        if listed:
            spec[name] = listed
    return key, spec


def save(web: Console, page: Page) -> Response:
    typed = {k: page.value(k) for k in ("key", "effect", "description", "min_sensitivity",
                                        *CRITERIA)}
    try:
        key, spec = spec_from_form(page)
        policy.upsert_rule(web.catalog, page.principal, key, spec)
    except CatalogError as exc:
        return rules_page(web, page, status=STATUS.get(exc.code, 400), error=exc.message,
                          typed=typed)
    return RedirectResponse(f"/rules?saved={key}#rule-{key}", 303)


def delete(web: Console, page: Page) -> Response:
    try:
        policy.delete_rule(web.catalog, page.principal, page.value("key"))
    except CatalogError as exc:
        return rules_page(web, page, status=STATUS.get(exc.code, 400), error=exc.message)
    return RedirectResponse("/rules", 303)


ROUTES = [
    ("/rules", show, ["GET"], False),
    ("/rules", save, ["POST"], False),
    ("/rules/delete", delete, ["POST"], False),
]
