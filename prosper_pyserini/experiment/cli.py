"""``prosper-repro``: the thin command line over :func:`prosper_pyserini.experiment.repro.run_experiment`."""

from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path

import click

from prosper_pyserini.cli_errors import Command


@click.command("prosper-repro", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Experiment YAML (eval/*.yaml).")
@click.option("--force", is_flag=True, help="Redo every step even where a cached output matches.")
@click.option("--only", multiple=True, help="Run only these systems (by name; repeatable).")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also rewrite this Markdown file's <!-- prosper-repro:NAME:begin/end --> block with the results.")
@click.option("--dry-run", is_flag=True,
              help="Print each step's equivalent command (prosper-train, prosper-pyserini index.lucene, …); run nothing.")
@click.option("--verify", is_flag=True,
              help="Check every system's 'expected' scores: OK / OKISH / FAIL per cell; exit 1 on any FAIL.")
@click.option("-v", "--verbose", is_flag=True,
              help="Show everything: Anserini's and Java's output, library progress bars, tracebacks.")
@click.argument("overrides", nargs=-1)
def main(config_path: str, force: bool, only: tuple[str, ...], readme: Path | None, dry_run: bool, verify: bool,
         verbose: bool, overrides: tuple[str, ...]) -> None:
    """Run an experiment matrix end to end and write its report.

    OVERRIDES are key=value pairs applied to the config, e.g. evaluation.split=all or
    data.raw=/path/train.csv.zip.
    """
    from prosper_pyserini.eval.report import splice_block
    from prosper_pyserini.experiment import verify as checks
    from prosper_pyserini.experiment.repro import load_experiment, run_experiment

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faiss").setLevel(logging.WARNING)
    if not verbose:   # the weight-loading and shard-writing bars of transformers, once per model and epoch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    command = "prosper-repro " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    started = time.perf_counter()
    try:   # everything wrong with the config or the README block fails here, before any work
        exp, systems = load_experiment(config_path, list(overrides), list(only), force, verbose)
        if readme is not None:
            splice_block(readme, f"prosper-repro:{exp.name}", None)
        if verify and not any(s["name"] in checks.expected_scores(exp.config) for s in systems):
            raise click.UsageError(f"--verify: no system to run has 'expected' scores in {config_path}")
    except ValueError as err:   # ConfigError, the YAML at FILE:LINE, an override that is not key=value
        raise click.UsageError(str(err)) from None
    if dry_run:
        from prosper_pyserini.experiment.commands import dry_run as commands

        click.echo("\n".join(commands(exp, systems)))
        return
    report, results = run_experiment(exp, systems, readme, command)
    click.echo(f"report: {report}  ({time.perf_counter() - started:.0f} s)")
    if verify:
        cells = checks.check(exp.config, results.means, results.systems)
        for cell in cells:
            click.echo(cell.line())
        failed = sum(c.status == "FAIL" for c in cells)
        tolerance = checks.tolerances(exp.config)
        click.echo(f"verify: {len(cells) - failed} of {len(cells)} cells within {tolerance['okish']} "
                   f"(OK within {tolerance['ok']}), {failed} FAIL")
        if failed:
            raise click.ClickException(f"verify: {failed} of {len(cells)} expected scores FAIL")


if __name__ == "__main__":
    main()
