"""What every command shares: the --database-url option, opening the catalog, and turning any
failure into one line on stderr with exit code 2 (no traceback, ever)."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from catalog.db.engine import normalize_url
from catalog.errors import CatalogError, NotFound
from catalog.services.core import Catalog

DEFAULT_URL = "sqlite:///catalog.db"
EXIT_ERROR = 2
DEBUG_ENV = "CATALOG_DEBUG"  # set to 1 to see the traceback an error line stands for

DatabaseUrl = Annotated[str, typer.Option(
    "--database-url", envvar="CATALOG_DATABASE_URL", metavar="URL",
    help="sqlite:///path/to/catalog.db or postgresql+psycopg://user:password@host:5432/db")]

F = TypeVar("F", bound=Callable)


def _exits() -> tuple[type[BaseException], ...]:
    """typer's own exit/usage exceptions (click's, for typer versions that still use click):
    they pass through the error mapping untouched."""
    exits: list[type[BaseException]] = [typer.Exit, typer.Abort]
    exits += [e for e in [getattr(typer.exceptions, "TyperException", None)] if e]
    try:
        import click
    except ImportError:
        return tuple(exits)
    return (*exits, click.exceptions.Exit, click.exceptions.Abort, click.ClickException)


PASS_THROUGH = _exits()


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def shown_path(path: Path) -> str:
    """path as a user may type it from here: relative when it is below the current
    directory (seeds/demo/README.md in a checkout), else absolute (an installed package)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def catalog_command() -> str:
    """How to run this same `catalog` from the user's shell: `catalog` when PATH finds this
    script, else its path (`.venv/bin/catalog` after `./dev demo`, which does not put the
    virtual environment on PATH)."""
    script = Path(sys.argv[0])
    if script.name != "catalog" or not script.is_file():
        return "catalog"  # run some other way (python -m, a test runner)
    on_path = shutil.which("catalog")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "catalog"
    shown = shown_path(script)
    return shlex.quote(shown if "/" in shown else f"./{shown}")


def shown_url(url: str) -> str:
    """The URL as it may be printed: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # malformed: nothing to mask, and normalize_url says what is wrong
        return url


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _db_error(exc: DBAPIError, url: str) -> str:
    cause = exc.orig if exc.orig is not None else exc
    where = shown_url(url)
    if "no such table" in str(cause) or getattr(cause, "sqlstate", None) == "42P01":
        return (f"the database at {where} holds no catalog yet: run "
                f"`catalog init --database-url {where}` first")
    if isinstance(exc, OperationalError):
        return f"cannot reach the database at {where}: {first_line(cause)}"
    return f"database error at {where}: {first_line(cause)}"


def guarded(func: F) -> F:
    """Run a command; map every failure to `error: <message>` on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        url = kwargs.get("database_url") or DEFAULT_URL
        try:
            return func(*args, **kwargs)
        except PASS_THROUGH:
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(explain(exc, url))

    return wrapper  # type: ignore[return-value]


def explain(exc: Exception, url: str) -> str:
    if isinstance(exc, CatalogError):
        return exc.message
    if isinstance(exc, DBAPIError):
        return _db_error(exc, url)
    if isinstance(exc, ArgumentError):
        return f"cannot use the database URL {shown_url(url)}: {first_line(exc)}"
    if isinstance(exc, ImportError):
        return (f"cannot use the database URL {shown_url(url)}: {first_line(exc)} (PostgreSQL "
                "URLs use psycopg 3, postgresql+psycopg://...; install it with "
                "pip install 'purpose-catalog[postgres]')")
    if isinstance(exc, ValidationError):
        return f"invalid CATALOG_ setting: {first_line(exc)}: {exc.errors()[0].get('msg')}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error at {shown_url(url)}: {first_line(exc)}"
    return f"unexpected {type(exc).__name__}: {first_line(exc)} (set {DEBUG_ENV}=1 for details)"


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def is_memory(url: str) -> bool:
    parsed = make_url(normalize_url(url))
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def remove_sqlite_file(path: Path) -> None:
    for suffix in SQLITE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def no_new_file_on_failure(url: str) -> Iterator[None]:
    """When the body fails, remove the SQLite file it created (a failed `init` must not
    leave an empty or half-made database behind). A file that was there stays."""
    try:
        path = sqlite_path(url)
    except Exception:  # malformed: the body says what is wrong
        path = None
    existed = path is None or path.exists()
    try:
        yield
    except BaseException:
        if not existed:
            remove_sqlite_file(path)  # type: ignore[arg-type]
        raise


@contextmanager
def open_catalog(url: str, *, create: bool = False) -> Iterator[Catalog]:
    """A Catalog on url, closed afterwards. Unless create, an SQLite file must exist already
    (rather than leave an empty file behind and then fail)."""
    cat = Catalog(database_url=url)
    try:
        path = sqlite_path(url)
        if not create and path is not None and not path.exists():
            raise NotFound(f"no catalog at {shown_url(url)}: run "
                           f"`catalog init --database-url {shown_url(url)}` first")
        yield cat
    finally:
        cat.close()
