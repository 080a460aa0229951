"""``prosper-search``: one command that writes comparable TREC runs for every kind of system."""

from __future__ import annotations

from pathlib import Path

import click

from prosper_pyserini.data.formats import InputError, read_queries, write_run
from prosper_pyserini.search.bm25 import DEFAULT_B, DEFAULT_K1, bm25_search


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False), help="Lucene index folder.")
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False), help="Queries TSV: qid<TAB>text.")
@click.option("--output", type=click.Path(dir_okay=False), help="Run file to write [runs/NAME.trec].")
@click.option("--name", help="System name = run tag [the index folder's name].")
@click.option("--system", type=click.Choice(["bm25"]), default="bm25", show_default=True, help="Retrieval model.")
@click.option("--k", "k", default=1000, show_default=True, help="Results per query.")
@click.option("--k1", default=DEFAULT_K1, show_default=True, help="BM25 k1.")
@click.option("--b", default=DEFAULT_B, show_default=True, help="BM25 b.")
@click.option("--threads", default=1, show_default=True, help="Search threads.")
@click.option("--batch-size", default=256, show_default=True, help="Queries per batch search call.")
def main(index_dir: str, queries: str, output: str | None, name: str | None, system: str, k: int,
         k1: float, b: float, threads: int, batch_size: int) -> None:
    """Search a query file and write a TREC run (run tag = system name)."""
    name = name or Path(index_dir).name
    output = output or f"runs/{name}.trec"
    try:
        topics = read_queries(queries)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    run = bm25_search(index_dir, topics, k=k, k1=k1, b=b, threads=threads, batch_size=batch_size)
    write_run(run, output, tag=name)
    click.echo(f"wrote {output}: {sum(len(r) for r in run.values())} rows for {len(run)} queries")
