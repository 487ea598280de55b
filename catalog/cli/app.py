"""The `catalog` command line (docs/semantics.md and the README's CLI reference). This module
only creates the app; each module in catalog/cli/commands/ registers its command on it, and
importing `catalog.cli` imports them."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # newer typer carries its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import ClickException

EXIT_USAGE = 2


class OneLineErrors(TyperGroup):
    """Usage errors (an unknown command or option, a missing argument) as one line
    `error: ...` on stderr with exit code 2, like every other CLI error; click's own hint
    ("Did you mean ...?") stays in the line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `catalog` alone: the help
                exc.show()
            else:
                typer.echo(f"error: {one_line(exc)}", err=True)
            sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def one_line(exc: ClickException) -> str:
    text = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    return f"{text} (see '{ctx.command_path} --help')" if ctx is not None else text


def package_version() -> str:
    try:
        return version("purpose-catalog")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


app = typer.Typer(
    name="catalog",
    cls=OneLineErrors,
    help="Purpose Catalog: may field X be used for purpose Y in channel Z?",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help text, rewrapped to the terminal
    pretty_exceptions_enable=False,  # errors are one line (catalog/cli/common.py), never a trace
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"catalog (purpose-catalog) {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(version_: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="print the version and exit")] = False) -> None:
    """Purpose Catalog: may field X be used for purpose Y in channel Z?"""


def main() -> None:
    app(prog_name="catalog")
