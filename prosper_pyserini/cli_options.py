"""Click option types for every ``prosper-*`` command: ranges from :mod:`prosper_pyserini.options`, and paths
that say whether the command reads or writes them.

- :class:`Checked`: converts with the base type, then applies a :class:`~prosper_pyserini.options.Rule`.
- :class:`InputPath` / :class:`OutputPath`: ``click.Path`` types that mark what a command reads and writes;
  :func:`check_paths` (run by every ``prosper-*`` command before its body, :mod:`.cli_errors`) refuses an
  output that is one of the command's inputs, lies inside an input folder, or is a folder holding an input.
"""

from __future__ import annotations

import os
from typing import Any

import click

from prosper_pyserini.data.formats import overlaps
from prosper_pyserini.options import Rule


class Checked(click.ParamType):
    """A click type: ``base`` converts the text (``int``, ``float``, ``str``), then ``rule`` must hold.

    Args:
        base: the Python type the text is converted to.
        rule: the range the converted value must be in.
    """

    def __init__(self, base: type, rule: Rule):
        self.base, self.rule = base, rule
        self.name = base.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str) or self.base is str:
            converted = value
        else:
            try:
                converted = self.base(value)
            except ValueError:
                self.fail(f"{value!r} is not {'an integer' if self.base is int else 'a number'}", param, ctx)
        if not self.rule.test(converted):
            self.fail(f"must be {self.rule.describe}, not {value!r}", param, ctx)
        return converted


class InputPath(click.Path):
    """A file or folder the command reads (never written over: :func:`check_paths`)."""


class OutputPath(click.Path):
    """A file or folder the command writes (never one of its inputs, nor inside or around one)."""


def check_paths(ctx: click.Context) -> None:
    """Refuse an output option that overlaps an input option of the same command.

    Raises:
        click.UsageError: naming both options.
    """
    inputs, outputs = [], []
    for param in ctx.command.params:
        values = ctx.params.get(param.name or "")
        values = values if isinstance(values, (list, tuple)) else [values]
        for value in values:
            if value is None:
                continue
            if isinstance(param.type, InputPath):
                inputs.append((param, os.fspath(value)))
            elif isinstance(param.type, OutputPath):
                outputs.append((param, os.fspath(value)))
    for out_param, out in outputs:
        for in_param, given in inputs:
            if overlaps(out, given):
                raise click.UsageError(f"{_option(out_param)} {out} overlaps {_option(in_param)} {given}: a command "
                                       "never writes over, inside or around its own input; choose another "
                                       f"{_option(out_param)}")


def _option(param: click.Parameter) -> str:
    return param.opts[0] if isinstance(param, click.Option) else (param.name or "").upper()


def given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` (its parameter name) was set on the command line, not left at its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


def refuse_unused(ctx: click.Context, names: list[str], applies: bool, where: str) -> None:
    """Refuse options that the rest of the command line makes meaningless (they would be silently ignored).

    Args:
        names: parameter names of the options concerned.
        applies: whether they mean anything in this invocation.
        where: what they need, for the message (``"--system bm25"``).
    """
    if applies:
        return
    used = [p.opts[0] for p in ctx.command.params if p.name in names and isinstance(p, click.Option) and given(ctx, p.name)]
    if used:
        raise click.UsageError(f"{', '.join(used)} only appl{'y' if len(used) > 1 else 'ies'} to {where} "
                               "(refused rather than silently ignored)")
