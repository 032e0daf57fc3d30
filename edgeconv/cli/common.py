"""Pieces shared by the CLI commands: the error-to-one-line group, consoles, common options, JSON output."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from edgeconv.errors import NO_ROOM, EdgeconvError

F = TypeVar("F", bound=Callable[..., Any])

# Tables and summaries go to stdout; progress and status to stderr, so `--json` output stays parseable.
# Piped output gets 120 columns rather than rich's 80, so that tables of file names do not fold.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
# stderr lines are never wrapped: a one-line message stays one line for a script that greps it, whatever the width
err = Console(stderr=True, highlight=False, soft_wrap=True)


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses NaN and infinities (NaN compares false with every bound, so
    FloatRange lets it through: ``--budget-ms nan`` ran a whole search before failing)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class EdgeconvGroup(click.Group):
    """A click group that reports :class:`EdgeconvError` as one line (``Error: ...``) and exit status 1, and a
    usage error (an unknown option, a value of the wrong type) as one line and exit status 2, naming the
    command's ``--help`` instead of printing the usage block."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke_and_release(ctx)
        except EdgeconvError as exc:
            raise click.ClickException(str(exc)) from None
        except click.UsageError as exc:
            raise one_line(exc) from None
        except OSError as exc:  # a write for want of space that no edgeconv writer wrapped: still one line
            if exc.errno not in NO_ROOM:
                raise
            raise click.ClickException(f"cannot write {exc.filename or 'a file'}: {exc.strerror}") from None

    def _invoke_and_release(self, ctx: click.Context) -> Any:
        """The command; then every farm place it held is given back, however it ended."""
        try:
            return super().invoke(ctx)
        finally:
            if "edgeconv.targets.farm.lease" in sys.modules:
                sys.modules["edgeconv.targets.farm.lease"].release_all()


class OneLineUsageError(click.ClickException):
    """A usage error printed as one line; exit status 2, as click's own usage errors."""

    exit_code = 2


def one_line(error: click.UsageError) -> click.ClickException:
    """A usage error as one line (exit status 2) that says where the help is."""
    where = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
    return OneLineUsageError(" ".join(error.format_message().split()) + where)


def db_option(function: F) -> F:
    """``--db PATH`` (or $EDGECONV_DB): the results database."""
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False),
        envvar="EDGECONV_DB",
        default=None,
        help="Results database (SQLite). Default: $EDGECONV_DB, else results.sqlite in the user data dir.",
    )(function)


def _farm_option(flag: str, help: str, **kind: Any) -> Callable[[F], F]:
    """A farm setting's option: not passed to the command, kept in ``edgeconv.targets.farm.spec.settings``."""
    name = flag.removeprefix("--")

    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            from edgeconv.targets.farm.spec import settings

            setattr(settings, name, value)

    return click.option(flag, expose_value=False, callback=store, help=f"labgrid targets: {help}", **kind)


def connection_options(function: F) -> F:
    """How edgeconv reaches a device, the same in every command that takes a target: ``--accept-new-host-key``
    (trust an ssh device whose key is not in known_hosts yet, never a changed one) and the farm's
    ``--coordinator``, ``--priority`` and ``--kick``."""
    options = [
        _farm_option(
            "--coordinator",
            "the coordinator. Default: $LG_COORDINATOR, else [farm] coordinator in targets.toml.",
            metavar="HOST:PORT",
        ),
        _farm_option("--priority", "the reservation's priority (higher is served first; default 0).", type=int),
        _farm_option(
            "--kick", "release a place held by an edgeconv that is gone, then use it.", is_flag=True, default=None
        ),
        click.option(
            "--accept-new-host-key",
            is_flag=True,
            help="ssh targets: trust a device whose host key is not yet in known_hosts (a changed key is always "
            "refused).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def target_options(function: F) -> F:
    """``--target`` (where to measure) and the :func:`connection_options`, the same in every command that measures."""
    return click.option(
        "--target",
        "targets",
        multiple=True,
        default=["local"],
        show_default=True,
        help="Where to measure: local, ssh://[user@]host[:port][/dir], an ssh_config alias, adb://SERIAL, a farm's "
        "labgrid://PLACE or labgrid:KEY=VALUE, or a group from targets.toml; repeat for several devices (measured in "
        "parallel, one at a time per device).",
    )(connection_options(function))


def json_flag(function: F) -> F:
    """``--json``: the same in every command: machine-readable JSON on stdout instead of the table (progress
    and notes stay on stderr). To keep it in a file: ``edgeconv CMD ... --json > out.json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of a table.")(function)


def backend_options(function: F) -> F:
    """One flag per runtime setting declared in the format specs (``--spinning/--no-spinning``, ...); each
    defaults to None, the runtime's own default."""
    from edgeconv.runtime.formats import all_formats

    for spec in reversed(all_formats()):
        for option in reversed(spec.backend_options):
            if option.choices is None:
                decls = [f"{option.flag}/--no-{option.flag[2:]}"]
                kind: Any = None
            else:
                decls, kind = [option.flag], click.Choice(option.choices)
            function = click.option(*decls, option.name, type=kind, default=None, help=option.help)(function)
    return function


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to stdout."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")
