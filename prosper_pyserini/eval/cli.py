"""``prosper-eval``: evaluate TREC runs against qrels; ``prosper-eval diff``: where two systems differ.

The console script points at :func:`main`, which dispatches ``prosper-eval diff …`` to the diff command and
everything else to the evaluate command, so ``prosper-eval runs/*.trec --qrels X`` works as typed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import click

from prosper_pyserini.cli_errors import Command
from prosper_pyserini.cli_options import Checked, InputPath, OutputPath, refuse_unused
from prosper_pyserini.data.formats import InputError, Qrels, Run, read_corpus, read_queries
from prosper_pyserini.eval.metrics import DEFAULT_METRICS, EvalResults, RunNameError, evaluate_files
from prosper_pyserini.eval.significance import CORRECTIONS, mark_significance
from prosper_pyserini.eval.tables import QueryDiff
from prosper_pyserini.options import COUNT, OPEN_UNIT, POSITIVE, WORD


def _echo_problems(results: EvalResults) -> None:
    for report in results.validation:
        for message in report.messages():
            click.echo(f"warning: {message}", err=True)


def load_and_evaluate(run_paths: Sequence[str], qrels_path: str, metrics: Sequence[str] = DEFAULT_METRICS,
                      threshold: int = 2, stat_test: str = "student", permutations: int = 1000
                      ) -> tuple[EvalResults, dict[str, Run], Qrels]:
    """:func:`~prosper_pyserini.eval.metrics.evaluate_files`, with two runs of one name as a usage error."""
    try:
        return evaluate_files(run_paths, qrels_path, metrics, threshold, stat_test, permutations)
    except RunNameError as exc:
        raise click.UsageError(str(exc)) from None


def _command_line(ctx: click.Context) -> list[str]:
    """This invocation as a command line (arguments, then options that differ from their defaults)."""
    parts = ["prosper-eval"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)  # type: ignore[arg-type]
        if isinstance(param, click.Argument):
            parts += list(value) if isinstance(value, tuple) else [str(value)]
        elif value is not None and value != param.default:
            parts += [param.opts[0], str(value)]
    return parts


def _metrics(value: str) -> list[str]:
    return list(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))


@click.command(
    name="prosper-eval",
    cls=Command,
    epilog="Per-query differences between two runs: prosper-eval diff --help",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("runs", nargs=-1, required=True, type=InputPath(exists=True, dir_okay=False))
@click.option("--qrels", required=True, type=InputPath(exists=True, dir_okay=False), help="TREC qrels (graded).")
@click.option(
    "--metrics", default=",".join(DEFAULT_METRICS), show_default=True,
    help="Comma-separated: hit@K, mrr@K, recall@K, ndcg@K, any ranx metric (precision@K, map@K, ndcg_burges@K) "
         "or trec_eval's names (success.10, recip_rank, ndcg_cut.10, recall.1000, P.10, map).",
)
@click.option("--threshold", default=2, show_default=True, type=Checked(int, COUNT),
              help="Lowest grade that counts as relevant for binary metrics.")
@click.option("--baseline", type=Checked(str, WORD),
              help="System name (run file stem) to test the others against; adds significance marks.")
@click.option("--test", "stat_test", type=click.Choice(["student", "fisher"]), default="student", show_default=True,
              help="Paired test: Student's t or Fisher's randomization.")
@click.option("--correction", type=click.Choice(CORRECTIONS), default="holm", show_default=True,
              help="Multiple-testing correction over the comparisons of each metric.")
@click.option("--alpha", default=0.05, show_default=True, type=Checked(float, OPEN_UNIT),
              help="Significance level after correction.")
@click.option("--permutations", default=1000, show_default=True, type=Checked(int, POSITIVE),
              help="Permutations for --test fisher (seed 42).")
@click.option("--out", "out_prefix", type=OutputPath(dir_okay=False), metavar="PREFIX",
              help="Write PREFIX.md/.tex/.csv/.json tables and PREFIX.hitk.png/.svg curves.")
@click.option("--per-query", type=OutputPath(dir_okay=False), help="Per-query scores, CSV (or TSV if *.tsv).")
@click.option("--report", "report_dir", type=OutputPath(file_okay=False),
              help="Write a self-contained report folder (report.md + report.html + plots + provenance).")
@click.option("--format", "output_format", type=click.Choice(["table", "trec_eval"]), default="table",
              show_default=True, help="What to print: the table, or trec_eval's 'measure all value' lines.")
def evaluate_command(
    runs: tuple[str, ...], qrels: str, metrics: str, threshold: int, baseline: str | None, stat_test: str,
    correction: str, alpha: float, permutations: int, out_prefix: str | None, per_query: str | None,
    report_dir: str | None, output_format: str,
) -> None:
    """Evaluate TREC RUNS against QRELS with ranx and print one table (system name = run file stem).

    Means are over the qrels queries with at least one doc graded >= --threshold; queries a run lacks score
    0. Every skipped line, unknown query, missing query and score tie is counted and reported.
    """
    from prosper_pyserini.eval import tables
    from prosper_pyserini.eval.plots import plot_hit_curves

    ctx = click.get_current_context()   # settings another option makes meaningless are refused, not ignored
    refuse_unused(ctx, ["permutations"], stat_test == "fisher", "--test fisher")
    refuse_unused(ctx, ["stat_test", "correction", "alpha"], baseline is not None, "--baseline (the significance test)")
    try:
        results, _, _ = load_and_evaluate(runs, qrels, _metrics(metrics), threshold, stat_test, permutations)
        if baseline is not None:
            mark_significance(results, baseline, correction, alpha)
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_problems(results)
    if output_format == "trec_eval":
        click.echo("\n".join(tables.trec_eval_lines(results)))
    else:
        tables.print_table(results)
    written = []
    if out_prefix:
        written += tables.write_tables(results, out_prefix)
        written += plot_hit_curves(results, out_prefix + ".hitk")
    if per_query:
        written.append(tables.write_per_query(results, per_query))
    if report_dir:
        from prosper_pyserini.eval.report import collect_provenance, write_report

        plots = plot_hit_curves(results, Path(report_dir) / "hit_at_k")
        provenance = collect_provenance(command=_command_line(click.get_current_context()),
                                        data_files={"qrels": qrels, **{Path(r).name: r for r in runs}})
        written.append(write_report(report_dir, results, plots, {}, provenance))
    for path in written:
        click.echo(f"wrote {path}", err=True)


@click.command(name="prosper-eval diff", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_a", type=InputPath(exists=True, dir_okay=False))
@click.argument("run_b", type=InputPath(exists=True, dir_okay=False))
@click.option("--qrels", required=True, type=InputPath(exists=True, dir_okay=False), help="TREC qrels (graded).")
@click.option("--metric", default="mrr@10", show_default=True, help="Metric to compare per query.")
@click.option("--top", default=20, show_default=True, type=Checked(int, POSITIVE), help="How many queries to show.")
@click.option("--depth", default=5, show_default=True, type=Checked(int, POSITIVE),
              help="How many top products to list per system.")
@click.option("--threshold", default=2, show_default=True, type=Checked(int, COUNT),
              help="Lowest grade that counts as relevant.")
@click.option("--queries", type=InputPath(exists=True, dir_okay=False), help="Queries TSV, to show query text.")
@click.option("--corpus", type=InputPath(exists=True, dir_okay=False), help="Corpus JSONL/TSV, to show titles.")
@click.option("--out", "out_path", type=OutputPath(dir_okay=False), help="Also write the diff as Markdown.")
@click.option("--model", "models", multiple=True, metavar="SYSTEM=MODEL",
              help="Sparse model of a system (run file stem): show each query's literal and expansion terms "
                   "with weights under that system's list (needs --queries). Repeatable.")
def diff_command(
    run_a: str, run_b: str, qrels: str, metric: str, top: int, depth: int, threshold: int,
    queries: str | None, corpus: str | None, out_path: str | None, models: tuple[str, ...],
) -> None:
    """List the queries where RUN_A and RUN_B differ most in --metric, with each system's top products.

    ✔ marks a product graded >= --threshold, a digit a lower grade, · an unjudged product.
    """
    from prosper_pyserini.data.formats import atomic_write
    from prosper_pyserini.eval import tables

    try:
        results, runs, judged = load_and_evaluate([run_a, run_b], qrels, [metric], threshold)
        texts = read_queries(queries) if queries else None
        diffs = tables.diff_queries(results, runs, judged, metric, top=top, depth=depth, queries=texts)
        term_info = query_terms(models, diffs, texts) if models else None
        titles = None
        if corpus or term_info:
            if corpus:
                needed = {doc for d in diffs for docs in d.top.values() for doc, _, _ in docs}
                titles = {doc.id: doc.text for doc in read_corpus(corpus, on_error="skip") if doc.id in needed}
            diffs = tables.diff_queries(results, runs, judged, metric, top=top, depth=depth, queries=texts,
                                        titles=titles, term_info=term_info)
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_problems(results)
    label = results.metric(metric).label
    tables.print_diff(diffs, label, threshold)
    if out_path:
        with atomic_write(out_path) as out:
            out.write(tables.diff_markdown(diffs, label, threshold))
        click.echo(f"wrote {out_path}", err=True)


@click.command(name="prosper-eval buckets", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_a", type=InputPath(exists=True, dir_okay=False))
@click.argument("run_b", type=InputPath(exists=True, dir_okay=False))
@click.option("--qrels", required=True, type=InputPath(exists=True, dir_okay=False), help="TREC qrels (graded).")
@click.option("--queries", required=True, type=InputPath(exists=True, dir_okay=False), help="Queries TSV (query text).")
@click.option("--corpus", required=True, type=InputPath(exists=True, dir_okay=False),
              help="Corpus JSONL/TSV: product titles give the brand tokens and the catalogue vocabulary.")
@click.option("--metric", default="mrr@10", show_default=True, help="Per-query metric compared.")
@click.option("--threshold", default=2, show_default=True, type=Checked(int, COUNT),
              help="Lowest grade that counts as relevant.")
@click.option("--out", "out_path", type=OutputPath(dir_okay=False), help="Also write the table as Markdown.")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False),
              help="Also rewrite this Markdown file's <!-- prosper-eval:buckets:begin/end --> block (command + table).")
@click.pass_context
def buckets_command(ctx: click.Context, run_a: str, run_b: str, qrels: str, queries: str, corpus: str, metric: str,
                    threshold: int, out_path: str | None, readme: str | None) -> None:
    """Count, per kind of query (model number, quantity, brand, unknown word, other), where RUN_A beats RUN_B."""
    from prosper_pyserini.data.formats import atomic_write
    from prosper_pyserini.eval import tables
    from prosper_pyserini.eval.buckets import brand_tokens, tokens, top_unjudged, win_table

    try:
        results, runs, judged = load_and_evaluate([run_a, run_b], qrels, [metric], threshold)
        titles = [doc.text for doc in read_corpus(corpus, on_error="skip")]
        texts = read_queries(queries)
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_problems(results)
    name = results.metric(metric).name
    a, b = results.systems
    per_query = {system: {q: results.per_query[system][name].get(q, 0.0) for q in results.qids} for system in (a, b)}
    vocabulary = {w for title in titles for w in tokens(title)}
    rows = win_table(per_query[a], per_query[b], texts, brand_tokens(titles), vocabulary,
                     unjudged_b=top_unjudged(runs[b], judged))
    text = tables.buckets_markdown(rows, a, b, results.metric(metric).label)
    click.echo(text)
    if out_path:
        with atomic_write(out_path) as out:
            out.write(text)
        click.echo(f"wrote {out_path}", err=True)
    if readme:
        from prosper_pyserini.eval.report import splice_block

        command = " ".join(_command_line(ctx)[:1] + ["buckets"] + _command_line(ctx)[1:])
        splice_block(readme, "prosper-eval:buckets", f"```bash\n{command}\n```\n\n{text}")


def query_terms(models: Sequence[str], diffs: Sequence[QueryDiff], texts: dict[str, str] | None
                ) -> dict[str, dict[str, str]]:
    """``{system: {qid: "literal: … | expansion: …"}}`` for the queries shown, from each system's model."""
    from prosper_pyserini.explain import explain_texts
    from prosper_pyserini.model import load_encoder

    if texts is None:
        raise click.UsageError("--model needs --queries (the query texts to encode)")
    info: dict[str, dict[str, str]] = {}
    qids = [d.qid for d in diffs]
    for item in models:
        system, sep, model = item.partition("=")
        if not sep:
            raise click.UsageError(f"--model {item!r}: expected SYSTEM=MODEL")
        views = explain_texts(load_encoder(model), [texts[q] for q in qids], side="query")
        info[system] = {q: view.format() for q, view in zip(qids, views)}
    return info


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: ``prosper-eval diff …`` and ``prosper-eval buckets …`` run those commands; anything else evaluates."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "diff":
        diff_command.main(args[1:], prog_name="prosper-eval diff")
    elif args and args[0] == "buckets":
        buckets_command.main(args[1:], prog_name="prosper-eval buckets")
    else:
        evaluate_command.main(args, prog_name="prosper-eval")


if __name__ == "__main__":
    main()
