"""``prosper-encode``: corpus → impact collection (sparse model) or FAISS index (dense model); queries → top-k terms."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from prosper_pyserini.cli_errors import Command
from prosper_pyserini.cli_options import Checked, InputPath, OutputPath, refuse_unused
from prosper_pyserini.data.formats import InputError, read_queries
from prosper_pyserini.encode.collection import DEFAULT_BATCH_SIZE, DEFAULT_SHARD_SIZE, encode_corpus
from prosper_pyserini.encode.parts import metadata_path
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE
from prosper_pyserini.options import COUNT, POSITIVE, POSITIVE_NUMBER

EXAMPLES = """
\b
Examples:
  # sparse model -> collections/hd-prosper/part-*.jsonl (+ collections/hd-prosper.{settings,summary}.json)
  prosper-encode --data data/hd --model checkpoints/prosper --output collections/hd-prosper
  # the same on two machines (or processes); either may be killed and rerun: finished parts are kept
  prosper-encode --data data/hd --model M --output collections/hd-prosper --shard 0/2
  prosper-encode --data data/hd --model M --output collections/hd-prosper --shard 1/2
  # queries -> top-16 quantized terms (.jsonl for Pyserini, .tsv for Anserini SearchCollection)
  prosper-encode --queries data/hd/queries.dev.tsv --model M --output collections/hd-prosper-queries.dev.jsonl
  # dense model -> FAISS IndexFlatIP folder (index.faiss, docids.txt, summary.json)
  prosper-encode --data data/hd --model checkpoints/dense --output indexes/hd-dense

Whether the model is sparse or dense is read from the model (sparse models have a vocabulary).
"""


def load_model(name_or_path: str) -> Any:
    """A model through the project's loader (checkpoint folder, backbone folder, GGUF file or offline name)."""
    try:
        from prosper_pyserini.model import load_encoder
    except ImportError as exc:
        raise click.ClickException(f"cannot load models: prosper_pyserini.model is unavailable ({exc})") from exc
    from prosper_pyserini.weights import UnknownModelError

    try:
        return load_encoder(name_or_path)
    except UnknownModelError as exc:  # a typo in --model is a usage error, not a fault
        raise click.BadParameter(str(exc), param_hint="'--model'") from None


def is_sparse(encoder: Any) -> bool:
    return getattr(encoder, "vocab_terms", None) is not None


def parse_shard(value: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"expected i/n, e.g. 0/4, not {value!r}") from None
    if not 0 <= i < n:
        raise click.BadParameter(f"need 0 <= i < n, not {value!r}")
    return i, n


@click.command("prosper-encode", cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.option("--corpus", type=InputPath(exists=True, dir_okay=False),
              help="Corpus JSONL ({id, contents|title|text}) or TSV (id<TAB>text).")
@click.option("--data", "data_dir", type=InputPath(exists=True, file_okay=False),
              help="Prepared dataset folder; uses DIR/corpus/products.jsonl.")
@click.option("--queries", type=InputPath(exists=True, dir_okay=False), help="Encode this queries TSV instead of a corpus.")
@click.option("--model", required=True, type=InputPath(), help="Checkpoint folder, GGUF file or offline model name.")
@click.option("--output", required=True, type=OutputPath(), help="Collection folder, FAISS folder, or query file (.jsonl/.tsv).")
@click.option("--scale", default=DEFAULT_SCALE, show_default=True, type=Checked(float, POSITIVE_NUMBER),
              help="Quantization: impact = round(weight * scale).")
@click.option("--query-top-k", default=DEFAULT_QUERY_TOP_K, show_default=True, type=Checked(int, COUNT),
              help="Terms kept per query (0 = all).")
@click.option("--doc-top-k", default=0, show_default=True, type=Checked(int, COUNT),
              help="Terms kept per product, heaviest first (0 = every term the model gives).")
@click.option("--shard-size", default=DEFAULT_SHARD_SIZE, show_default=True, type=Checked(int, POSITIVE),
              help="Products per part file (the unit of resume).")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=Checked(int, POSITIVE),
              help="Texts per model call (length-sorted).")
@click.option("--shard", "shard", default="0/1", show_default=True, help="Worker i of n: encode only parts k with k mod n == i.")
@click.option("--text-field", "text_fields", multiple=True,
              help="JSONL field(s) joined as the product text [contents, title or text].")
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count bad corpus lines and empty vectors instead of failing.")
@click.option("--torch-threads", type=Checked(int, POSITIVE), help="torch.set_num_threads for encoding [torch default].")
def main(corpus: str | None, data_dir: str | None, queries: str | None, model: str, output: str, scale: float,
         query_top_k: int, doc_top_k: int, shard_size: int, batch_size: int, shard: str, text_fields: tuple[str, ...],
         skip_bad_lines: bool, torch_threads: int | None) -> None:
    """Encode products or queries with a sparse or dense model."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if sum(x is not None for x in (corpus, data_dir, queries)) != 1:
        raise click.UsageError("give exactly one of --corpus, --data, --queries")
    ctx = click.get_current_context()   # options the other input kind would use are refused, not ignored
    refuse_unused(ctx, ["doc_top_k", "shard_size", "shard", "text_fields"], queries is None, "--corpus or --data")
    refuse_unused(ctx, ["query_top_k"], queries is not None, "--queries")
    if data_dir is not None:
        corpus = str(Path(data_dir) / "corpus" / "products.jsonl")
        if not Path(corpus).is_file():
            raise click.BadParameter(f"{data_dir} has no corpus/products.jsonl (make one with prosper-data)",
                                     param_hint="'--data'")
    worker_shard = parse_shard(shard)  # before the model loads: a bad flag costs no minute
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    on_error = "skip" if skip_bad_lines else "raise"
    encoder = load_model(model)
    try:
        if queries is not None:
            _encode_queries(encoder, queries, output, scale, query_top_k, batch_size, on_error)
        elif is_sparse(encoder):
            result = encode_corpus(encoder, corpus, output, model_name=model, scale=scale, shard_size=shard_size,
                                   batch_size=batch_size, shard=worker_shard, on_error=on_error,
                                   text_fields=text_fields or None, top_k=doc_top_k or None)
            rate = result.encoded_here / result.seconds if result.seconds else 0.0
            click.echo(f"{output}: wrote {len(result.parts_written)} part(s) ({result.encoded_here} products, "
                       f"{rate:.1f} products/s), kept {len(result.parts_resumed)} finished part(s)")
            if result.summary:
                s = result.summary
                click.echo(f"{output}: complete: {s['products_indexed']} products, "
                           f"{s['avg_terms_per_product']} terms/product on average; see {metadata_path(output, 'summary')}")
            else:
                click.echo(f"{output}: other parts are still missing (other --shard workers); rerun to finish")
        else:
            from prosper_pyserini.index.faiss import build_faiss_index

            summary = build_faiss_index(encoder, corpus, output, model_name=model, batch_size=batch_size,
                                        on_error=on_error, text_fields=text_fields or None)
            click.echo(f"{output}: FAISS IndexFlatIP with {summary['products_indexed']} products, "
                       f"dimension {summary['dimension']}")
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _encode_queries(encoder: Any, path: str, output: str, scale: float, top_k: int, batch_size: int,
                    on_error: str) -> None:
    from prosper_pyserini.encode.queries import encode_queries, write_query_vectors

    if not is_sparse(encoder):
        raise click.UsageError("--queries needs a sparse model (dense queries are encoded at search time)")
    topics = read_queries(path, on_error=on_error)  # type: ignore[arg-type]
    vectors = encode_queries(encoder, topics, top_k=top_k or None, scale=scale, batch_size=batch_size)
    write_query_vectors(vectors, topics, output)
    empty = sum(1 for v in vectors.values() if not v)
    click.echo(f"{output}: {len(vectors)} queries, top-{top_k or 'all'} terms" + (f", {empty} empty" if empty else ""))


if __name__ == "__main__":
    main()
