"""CatalogClient and AsyncCatalogClient: the catalog's GraphQL API for pipelines (httpx).

Both keep one connection pool for their lifetime (use them as context managers). Connection
failures and 5xx answers are retried a bounded number of times with exponential backoff, then
raised as CatalogClientError(code="UNAVAILABLE"): a pipeline that cannot ask fails closed.
4xx answers and GraphQL errors are never retried; they raise with the catalog's code.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import httpx

from catalog.client import models
from catalog.client.models import CatalogClientError, Decision, Field, Lineage

MAX_BATCH = 10_000  # the server's checkMany limit
CHECK = ("query Check($field: String!, $purpose: String!, $channel: String!, "
         "$atLeastRevision: Int) { check(field: $field, purpose: $purpose, channel: $channel, "
         f"atLeastRevision: $atLeastRevision) {{ {models.DECISION} }} }}")
CHECK_MANY = ("query CheckMany($requests: [CheckInput!]!, $atLeastRevision: Int) { "
              "checkMany(requests: $requests, atLeastRevision: $atLeastRevision) "
              f"{{ {models.DECISION} }} }}")
FIELD = f"query Field($name: String!) {{ field(name: $name) {{ {models.FIELD} }} }}"
LINEAGE = ("query Lineage($field: String!, $direction: LineageDirection!, $depth: Int!) { "
           "lineage(field: $field, direction: $direction, depth: $depth) { root partial "
           f"nodes {{ {models.FIELD} }} edges {{ upstream downstream transform }} }} }}")


def as_requests(requests: Iterable) -> list[dict]:
    """Mappings {field, purpose, channel} or 3-tuples, as checkMany's CheckInput."""
    out = []
    for i, r in enumerate(requests):
        if isinstance(r, Mapping):
            try:
                out.append({"field": r["field"], "purpose": r["purpose"],
                            "channel": r["channel"]})
            except KeyError as exc:
                raise CatalogClientError("BAD_INPUT", f"request {i} lacks {exc.args[0]!r}: "
                                         "give field, purpose and channel") from None
        elif isinstance(r, Sequence) and not isinstance(r, str) and len(r) == 3:
            out.append({"field": r[0], "purpose": r[1], "channel": r[2]})
        else:
            raise CatalogClientError("BAD_INPUT", f"request {i} is {r!r}: give a mapping "
                                     "{field, purpose, channel} or a (field, purpose, channel)")
    return out


def batches(items: list[dict]) -> Iterator[list[dict]]:
    for start in range(0, len(items), MAX_BATCH):
        yield items[start:start + MAX_BATCH]


def answer(response: httpx.Response, root: str):
    """The data under root, or CatalogClientError with the catalog's code."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code") or "INTERNAL"
        raise CatalogClientError(code, first.get("message", ""), status=response.status_code)
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("data") \
            or root not in body["data"]:
        raise CatalogClientError("INTERNAL", f"unexpected answer (HTTP "
                                 f"{response.status_code}) from {response.url}",
                                 status=response.status_code)
    return body["data"][root]


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500


class _Base:
    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.2) -> None:
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/graphql"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many pipelines do not retry in step."""
        return min(5.0, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)

    def _unavailable(self, cause: str) -> CatalogClientError:
        return CatalogClientError("UNAVAILABLE", f"no answer from the catalog at {self.url} "
                                  f"after {self.retries + 1} attempts: {cause}")


class CatalogClient(_Base):
    """client = CatalogClient("http://catalog:8000", token); client.check(f, p, c).allowed"""

    def __init__(self, url: str, token: str, **options) -> None:
        super().__init__(url, token, **options)
        self._http = httpx.Client(headers=self.headers, timeout=self.timeout)

    def __enter__(self) -> CatalogClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, query: str, variables: dict, root: str):
        cause = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1))
            try:
                response = self._http.post(self.endpoint, json={"query": query,
                                                                "variables": variables})
            except httpx.TransportError as exc:
                cause = f"{type(exc).__name__}: {exc}"
                continue
            if _retryable(response):
                cause = f"HTTP {response.status_code}"
                continue
            return answer(response, root)
        raise self._unavailable(cause)

    def check(self, field: str, purpose: str, channel: str,
              at_least_revision: int | None = None) -> Decision:
        return models.decision(self._post(CHECK, {
            "field": field, "purpose": purpose, "channel": channel,
            "atLeastRevision": at_least_revision}, "check"))

    def check_many(self, requests: Iterable,
                   at_least_revision: int | None = None) -> list[Decision]:
        """Decisions in request order; more than 10,000 go in several requests, each at the
        revision of the first or later (answers never go back in time)."""
        out: list[Decision] = []
        for batch in batches(as_requests(requests)):
            got = self._post(CHECK_MANY, {"requests": batch,
                                          "atLeastRevision": at_least_revision}, "checkMany")
            out += map(models.decision, got)
            if out:
                at_least_revision = max(at_least_revision or 0, out[0].revision)
        return out

    def field(self, name: str) -> Field | None:
        got = self._post(FIELD, {"name": name}, "field")
        return None if got is None else models.field(got)

    def lineage(self, field: str, direction: str = "UPSTREAM", depth: int = 10) -> Lineage:
        return models.lineage(self._post(LINEAGE, {"field": field, "direction": direction,
                                                   "depth": depth}, "lineage"))


class AsyncCatalogClient(_Base):
    """The same as CatalogClient, for asyncio: `async with AsyncCatalogClient(...) as c:`."""

    def __init__(self, url: str, token: str, **options) -> None:
        super().__init__(url, token, **options)
        self._http = httpx.AsyncClient(headers=self.headers, timeout=self.timeout)

    async def __aenter__(self) -> AsyncCatalogClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _post(self, query: str, variables: dict, root: str):
        cause = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt - 1))
            try:
                response = await self._http.post(self.endpoint, json={"query": query,
                                                                      "variables": variables})
            except httpx.TransportError as exc:
                cause = f"{type(exc).__name__}: {exc}"
                continue
            if _retryable(response):
                cause = f"HTTP {response.status_code}"
                continue
            return answer(response, root)
        raise self._unavailable(cause)

    async def check(self, field: str, purpose: str, channel: str,
                    at_least_revision: int | None = None) -> Decision:
        return models.decision(await self._post(CHECK, {
            "field": field, "purpose": purpose, "channel": channel,
            "atLeastRevision": at_least_revision}, "check"))

    async def check_many(self, requests: Iterable,
                         at_least_revision: int | None = None) -> list[Decision]:
        out: list[Decision] = []
        for batch in batches(as_requests(requests)):
            got = await self._post(CHECK_MANY, {"requests": batch,
                                                "atLeastRevision": at_least_revision},
                                   "checkMany")
            out += map(models.decision, got)
            if out:
                at_least_revision = max(at_least_revision or 0, out[0].revision)
        return out

    async def field(self, name: str) -> Field | None:
        got = await self._post(FIELD, {"name": name}, "field")
        return None if got is None else models.field(got)

    async def lineage(self, field: str, direction: str = "UPSTREAM",
                      depth: int = 10) -> Lineage:
        return models.lineage(await self._post(LINEAGE, {
            "field": field, "direction": direction, "depth": depth}, "lineage"))
