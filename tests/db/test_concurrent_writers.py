"""Two writers at once, as threads of one process and as two OS processes, on the same
database: no lost update, one revision per commit, contiguous and strictly increasing, and
every writer's index catches up with the database."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from concurrent_writer import FIELD, operations, run

from catalog.db import repo
from catalog.services import fields
from catalog.services.auth import SYSTEM
from catalog.services.fields import FieldInput

N = 40  # writes per writer
WRITER = Path(__file__).with_name("concurrent_writer.py")
TIMEOUT = 90


@pytest.fixture
def target(catalog) -> int:
    """The shared field; returns the revision before the writers start."""
    fields.register_fields(catalog, SYSTEM, [FieldInput(
        FIELD, category="tracking.contact", source="first_party", owner="test")])
    return catalog.index.revision


def expected_grants() -> dict[str, list[str]]:
    out = {}
    for worker in (0, 1):
        out.update({p: list(c) for p, c in operations(worker, N)[1].items()})
    return dict(sorted(out.items()))


def check_outcome(catalog, start: int, revisions: list[list[int]], fresh_description,
                  descriptions: list[dict]) -> None:
    # Each writer saw its own commits in order.
    for revs in revisions:
        assert len(revs) == N
        assert revs == sorted(revs) and len(set(revs)) == N
    # Together: one revision per commit, no duplicates, no gaps.
    every = [r for revs in revisions for r in revs]
    assert len(set(every)) == len(every) == 2 * N
    assert sorted(every) == list(range(start + 1, start + 2 * N + 1))

    url = str(catalog.settings.database_url)
    with catalog.engine.connect() as conn:
        assert repo.current_revision(conn=conn) == start + 2 * N
        log = conn.execute(sa.text("SELECT id, revision, field FROM change_log "
                                   "WHERE revision > :r ORDER BY id"), {"r": start}).all()
    # The change log: one row per commit here, revisions strictly increasing and contiguous.
    assert [r.revision for r in log] == list(range(start + 1, start + 2 * N + 1))
    assert {r.field for r in log} == {FIELD}

    # No lost update: the field holds exactly what both writers' writes leave behind.
    fresh = fresh_description(url)
    assert fresh["revision"] == start + 2 * N
    grants = {g["purpose"]: g["channels"] for g in fresh["fields"][FIELD]["grants"]}
    assert grants == expected_grants()
    assert fresh["fields"][FIELD]["revision"] == start + 2 * N

    # Every writer's index caught up.
    for description in descriptions:
        assert description == fresh


@pytest.mark.parametrize("shared", [True, False], ids=["one-catalog", "catalog-per-thread"])
def test_two_threads(catalog, target, shared, catalog_factory, fresh_description,
                     describe_index):
    url = str(catalog.settings.database_url)
    catalogs = [catalog, catalog if shared else catalog_factory(url)]
    for cat in catalogs:
        cat.reload()  # loaded before the start, so the writes race
    start_line = threading.Barrier(2)
    revisions: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start_line.wait(timeout=TIMEOUT)
            revisions[worker] = run(catalogs[worker], worker, N)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, errors

    descriptions = []
    for cat in catalogs:
        cat.sync()
        descriptions.append(describe_index(cat.index))
    check_outcome(catalog, target, revisions, fresh_description, descriptions)


class Workers:
    """Separate OS processes running concurrent_writer.py, driven line by line."""

    def __init__(self, *argvs: list[str]) -> None:
        self.procs = [subprocess.Popen([sys.executable, str(WRITER), *argv],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True) for argv in argvs]

    def step(self, send: str | None = None, expect_json: bool = True) -> list:
        """Send a line to every worker, then read one line from each."""
        if send:
            for p in self.procs:
                p.stdin.write(send + "\n")
                p.stdin.flush()
        lines = []
        for p in self.procs:
            line = p.stdout.readline()
            if not line:
                p.wait(timeout=TIMEOUT)
                pytest.fail(f"worker exited {p.returncode}: {p.stderr.read()[-3000:]}")
            lines.append(json.loads(line) if expect_json else line.strip())
        return lines

    def finish(self) -> None:
        for p in self.procs:
            p.stdin.close()
            assert p.wait(timeout=TIMEOUT) == 0, p.stderr.read()[-3000:]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout, p.stderr):
                stream.close()


@pytest.mark.slow
def test_two_processes(catalog, target, fresh_description):
    url = str(catalog.settings.database_url)
    with Workers([url, "0", str(N)], [url, "1", str(N)]) as workers:
        assert workers.step(expect_json=False) == ["ready", "ready"]
        revisions = workers.step("go")  # both write at once; each answers when done
        descriptions = workers.step("sync")  # both are done: each catches up
        workers.finish()
    check_outcome(catalog, target, revisions, fresh_description, descriptions)


@pytest.mark.slow
def test_concurrent_init_on_an_empty_database(database_url, fresh_description):
    """Two `catalog init` at once (say, two containers starting) both succeed, and the
    defaults are loaded once."""
    with Workers([database_url, "init"], [database_url, "init"]) as workers:
        assert workers.step(expect_json=False) == ["ready"] * 2
        results = workers.step("go")
        workers.finish()
    assert sorted(r["rules"] for r in results) == [0, 8]
    assert sorted(r["taxonomy"] for r in results) == [0, 61]
    described = fresh_description(database_url)
    assert described["revision"] == 1 and len(described["rules"]) == 8  # one commit
