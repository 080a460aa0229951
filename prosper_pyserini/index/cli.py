"""``prosper-index``: Anserini's indexer with Pyserini's flags, on any Java 21+ runtime, with checked counters."""

from __future__ import annotations

import click

from prosper_pyserini.cli_errors import Command
from prosper_pyserini.data.formats import InputError
from prosper_pyserini.index.lucene import IndexCountError, run_indexer

EXAMPLES = """
Takes the flags of `python -m pyserini.index.lucene` unchanged, e.g.

\b
  prosper-index --collection JsonCollection --input data/hd/corpus \\
      --index indexes/hd-bm25 --generator DefaultLuceneDocumentGenerator \\
      --threads 2 --storePositions --storeDocvectors --storeRaw
  prosper-index --collection JsonVectorCollection --input collections/hd-prosper \\
      --index indexes/hd-prosper --generator DefaultLuceneDocumentGenerator \\
      --threads 2 --impact --pretokenized

Fails (exit 1) when Anserini reports errors, empty or unindexable documents, or indexes
fewer documents than the collection has lines.
"""


@click.command(
    "prosper-index",
    cls=Command,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]},
    epilog=EXAMPLES,
)
@click.argument("anserini_args", nargs=-1, type=click.UNPROCESSED)
def main(anserini_args: tuple[str, ...]) -> None:
    """Build a Lucene index (BM25 or impact) with Anserini's IndexCollection."""
    if not anserini_args:
        raise click.UsageError("no indexing flags given; see --help")
    try:
        counters = run_indexer(anserini_args)
    except (IndexCountError, InputError) as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # flags that name no collection, input or index, or that Anserini refuses
        raise click.UsageError(str(exc)) from None
    click.echo(f"indexed {counters.indexed} documents (collection lines: {counters.expected})")


if __name__ == "__main__":
    main()
