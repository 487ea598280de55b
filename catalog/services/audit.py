"""Reading the decision log (docs/semantics.md §10) and the overcrowding watch built on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from catalog.db import audit
from catalog.errors import BadInput, Forbidden
from catalog.services.auth import Principal, require
from catalog.services.browse import _page_size, decode_cursor, encode_cursor
from catalog.services.core import Catalog

AUDITORS = ("admin", "reviewer")
CROWDED_PURPOSE = "marketing"  # the seeds' fourth sin: many teams marketing to the same people
# A (channel, purpose) is crowded when this many distinct callers market through it in the
# period: one caller is a campaign, two can be a campaign and its follow-up, three or more
# are separate teams taking turns at the same customers' inbox.
CROWDED_CALLERS = 3


@dataclass(frozen=True)
class LogEntry:
    minute: datetime
    caller: str
    field: str
    purpose: str
    channel: str
    allowed: bool
    count: int


@dataclass(frozen=True)
class Crowding:
    channel: str
    purpose: str
    callers: int  # distinct callers
    decisions: int
    allowed: int

    def crowded(self, threshold: int = CROWDED_CALLERS) -> bool:
        return self.callers >= threshold


def require_auditor(principal: Principal) -> None:
    require(principal, "read")
    if principal.role not in AUDITORS:
        raise Forbidden(f"role {principal.role} may not read the decision log (reviewers and "
                        "admins may)")


def utc(t: datetime | None, what: str) -> datetime | None:
    if t is None:
        return None
    if not isinstance(t, datetime):
        raise BadInput(f"{what} must be a date and time (ISO 8601), not {t!r}")
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def period(since: datetime | None, until: datetime | None) -> tuple:
    since, until = utc(since, "since"), utc(until, "until")
    if since is not None and until is not None and since > until:
        raise BadInput(f"since ({since.isoformat()}) is after until ({until.isoformat()}): "
                       "since is the start of the period, until its end")
    return since, until


def decision_log(cat: Catalog, principal: Principal, *, field: str | None = None,
                 purpose: str | None = None, channel: str | None = None,
                 allowed: bool | None = None, caller: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 first: int = 100, after: str | None = None
                 ) -> tuple[list[LogEntry], str | None, bool]:
    require_auditor(principal)
    first = _page_size(first)
    since, until = period(since, until)
    key = _decode(after)
    with cat.engine.connect() as conn:
        rows = audit.decision_counts(conn=conn, field=field, purpose=purpose, channel=channel,
                                     allowed=allowed, caller=caller, since=since, until=until,
                                     after=key, first=first + 1)
    more = len(rows) > first
    entries = [LogEntry(utc(r.minute, "minute"), r.caller, r.field, r.purpose, r.channel,
                        bool(r.allowed), int(r.count)) for r in rows[:first]]
    cursor = _encode(entries[-1]) if entries else None
    return entries, cursor, more


def _encode(e: LogEntry) -> str:
    return encode_cursor(orjson.dumps([e.minute.isoformat(), e.caller, e.field, e.purpose,
                                       e.channel, e.allowed]).decode())


def _decode(cursor: str | None) -> tuple | None:
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    try:
        minute, caller, field, purpose, channel, allowed = orjson.loads(raw)
        if not all(isinstance(x, str) for x in (minute, caller, field, purpose, channel)) \
                or not isinstance(allowed, bool):
            raise ValueError
        return (utc(datetime.fromisoformat(minute), "cursor"), caller, field, purpose,
                channel, allowed)
    except (ValueError, TypeError, BadInput, orjson.JSONDecodeError):
        raise BadInput("invalid cursor: pass the endCursor of the previous page") from None


def overcrowding(cat: Catalog, principal: Principal, since: datetime | None = None,
                 until: datetime | None = None) -> list[Crowding]:
    """Per channel and marketing purpose: how many distinct callers asked, and how many
    decisions, in the period. Most crowded first."""
    require_auditor(principal)
    since, until = period(since, until)
    with cat.engine.connect() as conn:
        rows = audit.crowding(conn=conn, purpose=CROWDED_PURPOSE, since=since, until=until)
    out = [Crowding(r.channel, r.purpose, int(r.callers), int(r.decisions), int(r.allowed))
           for r in rows]
    return sorted(out, key=lambda c: (-c.callers, -c.decisions, c.channel, c.purpose))
