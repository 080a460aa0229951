"""``prosper-export``: a sealed collection into Milvus, or into bulk files for Milvus, OpenSearch, Elasticsearch."""

from __future__ import annotations

import json
from typing import Any

import click

from prosper_pyserini.cli_errors import Group
from prosper_pyserini.cli_options import Checked, InputPath, OutputPath
from prosper_pyserini.data.formats import InputError
from prosper_pyserini.options import MILVUS_NAME, WORD

EXAMPLES = """
\b
Examples:
  # the embedded engine (a local file), then search it like any other system
  prosper-export milvus --input collections/hd-prosper --uri hd.db --collection hd_prosper
  prosper-search --system milvus --uri hd.db --collection hd_prosper --model checkpoints/prosper \\
      --queries data/hd/queries.dev.tsv --output runs/hd-milvus.trec
  # a cluster: the same commands with --uri http://HOST:19530 (token in $MILVUS_TOKEN)
  # bulk files for loading elsewhere (mapping.json says what to create first)
  prosper-export opensearch --input collections/hd-prosper --output bulk/os --index hd-prosper --keys tokens
"""

INPUT = click.option("--input", "collection_dir", required=True, type=InputPath(exists=True, file_okay=False),
                     help="A collection folder sealed by prosper-encode (NAME.summary.json beside it).")
MODEL = click.option("--model", type=InputPath(), default=None,
                     help="The model that encoded it (its vocabulary numbers the terms) [the one its summary names].")


@click.group("prosper-export", cls=Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Hand PROSPER's vectors to a distributed engine, exactly (integer impacts, every term kept)."""


def _model(collection_dir: str, model: str | None) -> tuple[dict[str, int], str]:
    """The term ids and checksum of ``--model``, or of the model the collection's summary names."""
    from prosper_pyserini.encode.cli import is_sparse, load_model
    from prosper_pyserini.encode.parts import metadata_path
    from prosper_pyserini.export.milvus import term_ids

    if model is None:
        summary = metadata_path(collection_dir, "summary")
        model = json.loads(summary.read_text(encoding="utf-8")).get("model") if summary.is_file() else None
        if not model:
            raise click.UsageError(f"{collection_dir} names no model in its summary; give --model")
    encoder = load_model(model)
    if not is_sparse(encoder):
        raise click.UsageError(f"{model} is a dense model; only sparse vectors export")
    return term_ids(encoder.vocab_terms), str(encoder.checksum())


@main.command("milvus")
@INPUT
@click.option("--uri", required=True, help="A local Milvus file (*.db, the embedded engine) or a cluster, "
                                           "http://HOST:19530 (token from $MILVUS_TOKEN).")
@click.option("--collection", "name", required=True, type=Checked(str, MILVUS_NAME), help="Milvus collection name.")
@MODEL
@click.option("--replace", is_flag=True, help="Load over an existing collection of other vectors (else refused).")
def milvus_command(collection_dir: str, uri: str, name: str, model: str | None, replace: bool) -> None:
    """Load a collection into Milvus (a SPARSE_INVERTED_INDEX, inner product), all or nothing."""
    from prosper_pyserini.export.milvus import MilvusError, collection_record, load_collection

    try:
        collection_record(collection_dir)   # unsealed or hand-made: refused before any model loads
        ids, checksum = _model(collection_dir, model)
        report = load_collection(collection_dir, uri, name, ids, checksum, replace=replace)
    except (InputError, MilvusError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "already holds" if report["reused"] else "loaded"
    click.echo(f"{uri}: {verb} {report['products']} products in collection {name!r} "
               f"(model {report['model_checksum'][:12]}…)")


def _bulk(target: str, collection_dir: str, output: str, index: str, keys: str, model: str | None) -> None:
    from prosper_pyserini.export.bulk import write_bulk
    from prosper_pyserini.export.milvus import collection_record

    try:
        collection_record(collection_dir)
        ids, _ = _model(collection_dir, model)
        summary: dict[str, Any] = write_bulk(collection_dir, output, target, index, ids, keys)  # type: ignore[arg-type]
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{output}: {summary['documents']} documents in {len(summary['files'])} file(s) for {target}; "
               f"create {output}/mapping.json first")


OUTPUT = click.option("--output", required=True, type=OutputPath(file_okay=False), help="Folder to write.")
INDEX = click.option("--index", "index", required=True, type=Checked(str, WORD), help="Target index/collection name.")


@main.command("milvus-bulk")
@INPUT
@OUTPUT
@INDEX
@MODEL
def milvus_bulk_command(collection_dir: str, output: str, index: str, model: str | None) -> None:
    """JSON row files for Milvus bulk import ({"id", "vec": {"TERM_ID": impact}})."""
    _bulk("milvus-bulk", collection_dir, output, index, "ids", model)


KEYS = click.option("--keys", type=click.Choice(["ids", "tokens"]), default="ids", show_default=True,
                    help="Feature keys: the model's term ids, or the term strings.")


@main.command("opensearch")
@INPUT
@OUTPUT
@INDEX
@KEYS
@MODEL
def opensearch_command(collection_dir: str, output: str, index: str, keys: str, model: str | None) -> None:
    """_bulk NDJSON for an OpenSearch rank_features field (query it with neural_sparse)."""
    _bulk("opensearch", collection_dir, output, index, keys, model)


@main.command("elasticsearch")
@INPUT
@OUTPUT
@INDEX
@KEYS
@MODEL
def elasticsearch_command(collection_dir: str, output: str, index: str, keys: str, model: str | None) -> None:
    """_bulk NDJSON for an Elasticsearch sparse_vector field (index_options.prune false)."""
    _bulk("elasticsearch", collection_dir, output, index, keys, model)


if __name__ == "__main__":
    main()
