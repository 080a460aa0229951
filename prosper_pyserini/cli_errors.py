"""One line for every failed command: ``prosper-X: error: …``; exit 2 for usage, 1 for data and faults.

A traceback is for whoever debugs the code, not for whoever gave a bad file or flag, and 40 lines of it hide
the one that names the file and line. ``-v``/``--verbose`` or ``PROSPER_DEBUG=1`` shows it again.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Sequence

import click

DEBUG_ENV = "PROSPER_DEBUG"


def debugging(argv: Sequence[str]) -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0") or any(a in ("-v", "--verbose") for a in argv)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (Java exceptions carry their stack in it)."""
    if isinstance(exc, click.ClickException):
        text = exc.format_message()
    else:
        text = str(exc) or type(exc).__name__
        if not isinstance(exc, (ValueError, OSError)):
            text = f"{type(exc).__name__}: {text}"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class OneLineErrors:
    """Mixin for a click command or group: runs it non-standalone and reports any failure as one line."""

    name: str | None
    params: list[click.Parameter]

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)  # type: ignore[misc]
        argv = list(sys.argv[1:] if args is None else args)
        debug = debugging(argv)
        if not self._has_verbose():  # -v means "show the traceback" on every command
            argv = [a for a in argv if a not in ("-v", "--verbose")]
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)  # type: ignore[misc]
        except click.UsageError as exc:
            self._fail(debug, exc, 2)
        except click.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                self._interrupted()
            self._fail(debug, click.ClickException("aborted (no input to read)"), 1, exc)
        except KeyboardInterrupt:   # raised outside click's own handling (e.g. during an atexit-free teardown)
            self._interrupted()
        except click.ClickException as exc:
            self._fail(debug, exc, exc.exit_code)
        except Exception as exc:  # noqa: BLE001  (every fault gets one line; PROSPER_DEBUG=1 shows where)
            self._fail(debug, exc, 1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Check what the options name against each other (an output over an input) before the body runs."""
        from prosper_pyserini.cli_options import check_paths

        check_paths(ctx)
        return super().invoke(ctx)  # type: ignore[misc]

    def _interrupted(self) -> None:
        """Ctrl-C: one line and exit 130. Every output is written atomically or resumable, so a rerun continues.

        With a JVM in the process (jnius imported) the exit skips interpreter teardown: tearing down torch's
        thread pools beside a live JVM is what crashed with SIGSEGV.
        """
        click.echo(f"{self.name}: interrupted; rerun the same command to continue", err=True)
        if "jnius" in sys.modules:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(130)

    def _has_verbose(self) -> bool:
        """Whether the command (or, for a group, any subcommand) takes -v itself."""
        commands = [self, *getattr(self, "commands", {}).values()]
        return any(opt in ("-v", "--verbose") for cmd in commands for p in cmd.params for opt in p.opts)

    def _fail(self, debug: bool, exc: BaseException, code: int, cause: BaseException | None = None) -> None:
        if debug and not isinstance(exc, click.UsageError):
            traceback.print_exception(cause or exc, file=sys.stderr)
        click.echo(f"{self.name}: error: {one_line(exc)}", err=True)
        sys.exit(code)


class Command(OneLineErrors, click.Command):
    """A ``click.Command`` whose failures are one line."""


class Group(OneLineErrors, click.Group):
    """A ``click.Group`` whose failures are one line; its subcommands are :class:`Command` too."""

    command_class = Command
