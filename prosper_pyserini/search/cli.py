"""``prosper-search``: one command that writes comparable TREC runs for every kind of system."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from prosper_pyserini.cli_errors import Command
from prosper_pyserini.cli_options import Checked, InputPath, OutputPath, refuse_unused
from prosper_pyserini.data.formats import InputError, read_queries, write_run
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE
from prosper_pyserini.options import (
    AT_LEAST_ONE,
    COUNT,
    FINITE,
    MILVUS_NAME,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_NUMBER,
    SHARE,
    UNIT,
    WORD,
)
from prosper_pyserini.search.backend import BACKENDS
from prosper_pyserini.search.bm25 import DEFAULT_B, DEFAULT_K1, bm25_search
from prosper_pyserini.search.bmp_index import BmpParams
from prosper_pyserini.search.seismic_index import SeismicParams

SEISMIC_DEFAULTS, BMP_DEFAULTS = SeismicParams(), BmpParams()

EXAMPLES = """
\b
Examples:
  prosper-search --system bm25 --index indexes/hd-bm25 --queries data/hd/queries.dev.tsv
  prosper-search --system impact --model checkpoints/prosper --index indexes/hd-prosper \\
      --queries data/hd/queries.dev.tsv --output runs/hd-prosper.trec --threads 2
  prosper-search --system dense --model checkpoints/dense --index indexes/hd-dense --queries Q.tsv
  # brute-force reference over the collection files (small corpora; same scores as impact)
  prosper-search --system exact --model checkpoints/prosper --index collections/hd-prosper --queries Q.tsv
  # in-process backends over the same collection (built once into collections/hd-prosper.SYSTEM, then reused)
  prosper-search --system seismic --model checkpoints/prosper --index collections/hd-prosper --queries Q.tsv
  prosper-search --system bmp --model checkpoints/prosper --index collections/hd-prosper --queries Q.tsv

seismic/bmp report recall@k against exact on the run they write (--recall-queries), their build time and
index size, on stderr and in OUTPUT.search.json.

impact/exact take the query vectors from --model (encoded in batches, top --query-top-k terms,
round(w * --scale)) or from --encoded-queries (a .jsonl written by prosper-encode --queries).
"""


@click.command("prosper-search", cls=Command, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.option("--index", "index_dir", type=InputPath(exists=True, file_okay=False),
              help="Lucene index (bm25, impact), FAISS folder (dense) or JsonVectorCollection folder (exact); "
                   "not for milvus.")
@click.option("--queries", "--topics", "queries", required=True, type=InputPath(exists=True, dir_okay=False),
              help="Queries TSV: qid<TAB>text (--topics: Pyserini's name).")
@click.option("--output", type=OutputPath(dir_okay=False), help="Run file to write [runs/NAME.trec].")
@click.option("--name", help="System name = run tag [the index folder's name].")
@click.option("--system", type=click.Choice(["bm25", "impact", "dense", "exact", *BACKENDS, "milvus"]), default="bm25",
              show_default=True, help="Retrieval model.")
@click.option("--impact", "impact_flag", is_flag=True, help="Pyserini's name for --system impact.")
@click.option("--bm25", "bm25_flag", is_flag=True, help="Pyserini's name for --system bm25.")
@click.option("--model", "--encoder", "model", type=InputPath(),
              help="Sparse (impact, exact) or dense model: checkpoint, GGUF or offline name (--encoder: Pyserini's name).")
@click.option("--encoded-queries", type=InputPath(exists=True, dir_okay=False),
              help="Pre-encoded query vectors (.jsonl from prosper-encode --queries) instead of --model.")
@click.option("--query-top-k", default=DEFAULT_QUERY_TOP_K, show_default=True, type=Checked(int, COUNT),
              help="Query terms kept (0 = all).")
@click.option("--scale", default=DEFAULT_SCALE, show_default=True, type=Checked(float, POSITIVE_NUMBER),
              help="Query quantization scale (as prosper-encode).")
@click.option("--k", "--hits", "k", default=1000, show_default=True, type=Checked(int, POSITIVE),
              help="Results per query (--hits: Pyserini's name).")
@click.option("--min-idf", default=-1.0, show_default=True, type=Checked(float, FINITE),
              help="Impact search: drop query terms with idf below this. Pyserini's default 0 drops terms found in "
                   "every product, which the exact dot product keeps; -1 keeps all.")
@click.option("--output-format", type=click.Choice(["trec", "msmarco"]), default="trec", show_default=True,
              help="Run format: TREC (6 columns) or MS MARCO (qid, docid, rank).")
@click.option("--k1", default=DEFAULT_K1, show_default=True, type=Checked(float, NON_NEGATIVE), help="BM25 k1.")
@click.option("--b", default=DEFAULT_B, show_default=True, type=Checked(float, UNIT), help="BM25 b.")
@click.option("--threads", default=1, show_default=True, type=Checked(int, POSITIVE), help="Search threads.")
@click.option("--batch-size", default=256, show_default=True, type=Checked(int, POSITIVE),
              help="Queries per batch search call.")
@click.option("--backend-index", type=OutputPath(file_okay=False),
              help="seismic/bmp: folder of the built index [COLLECTION.SYSTEM beside --index]; built when absent "
                   "or made from other parameters or collection files.")
@click.option("--rebuild", is_flag=True, help="seismic/bmp: build the index again even if it is up to date.")
@click.option("--uri", help="milvus: a local Milvus file (*.db) or a cluster, http://HOST:19530 ($MILVUS_TOKEN).")
@click.option("--collection", type=Checked(str, MILVUS_NAME),
              help="milvus: the collection prosper-export milvus loaded.")
@click.option("--recall-queries", default=1000, show_default=True, type=Checked(int, COUNT),
              help="seismic/bmp: queries scored exactly for recall@k vs --system exact (0 = skip).")
@click.option("--seismic-n-postings", type=Checked(int, POSITIVE), help=f"Seismic: postings kept per term on average "
              f"[{SEISMIC_DEFAULTS.n_postings}].")
@click.option("--seismic-max-fraction", type=Checked(float, AT_LEAST_ONE), help="Seismic: a term keeps at most this × "
              f"n_postings [{SEISMIC_DEFAULTS.max_fraction}].")
@click.option("--seismic-centroid-fraction", type=Checked(float, SHARE),
              help=f"Seismic: clusters per posting list / its length [{SEISMIC_DEFAULTS.centroid_fraction}].")
@click.option("--seismic-summary-energy", type=Checked(float, SHARE),
              help=f"Seismic: mass each block summary keeps [{SEISMIC_DEFAULTS.summary_energy}].")
@click.option("--seismic-heap-factor", type=Checked(float, SHARE),
              help=f"Seismic search: lower scores more blocks (recall up, speed down) [{SEISMIC_DEFAULTS.heap_factor}].")
@click.option("--seismic-query-cut", type=Checked(int, POSITIVE),
              help=f"Seismic search: traverse the postings of this many heaviest query terms (every product found is "
                   f"scored with the whole query) [{SEISMIC_DEFAULTS.query_cut}].")
@click.option("--bmp-bsize", type=Checked(int, POSITIVE), help=f"BMP: documents per block [{BMP_DEFAULTS.bsize}].")
@click.option("--bmp-alpha", type=Checked(float, SHARE),
              help=f"BMP search: block termination factor, 1 = safe [{BMP_DEFAULTS.alpha}].")
@click.option("--bmp-beta", type=Checked(float, SHARE),
              help=f"BMP search: share of query terms kept, 1 = all [{BMP_DEFAULTS.beta}].")
def main(index_dir: str | None, queries: str, output: str | None, name: str | None, system: str, impact_flag: bool,
         bm25_flag: bool, model: str | None, encoded_queries: str | None, query_top_k: int, scale: float, k: int,
         min_idf: float, output_format: str, k1: float, b: float, threads: int, batch_size: int,
         backend_index: str | None, rebuild: bool, uri: str | None, collection: str | None, recall_queries: int,
         **backend_flags: Any) -> None:
    """Search a query file and write a TREC run (run tag = system name)."""
    system = _system(system, impact_flag, bm25_flag)
    _check_combination(click.get_current_context(), system)
    if system == "milvus":
        if not uri or not collection or index_dir:
            raise click.UsageError("--system milvus needs --uri and --collection (and no --index)")
        if not model:
            raise click.UsageError("--system milvus needs --model (its vocabulary numbers the query terms)")
    elif index_dir is None or uri or collection:
        raise click.UsageError(f"--system {system} needs --index (--uri and --collection are for milvus)")
    name = name or (collection if system == "milvus" else Path(index_dir).name)
    output = output or f"runs/{name}.trec"
    if WORD.problem("--name", name):   # it is the run tag, and the file name of the default --output
        raise click.BadParameter(f"the run tag must be {WORD.describe}, not {name!r}", param_hint="'--name'")
    record = check_index(index_dir, system) if system != "milvus" else {}
    try:
        topics = read_queries(queries)
        if system == "bm25":
            run = bm25_search(index_dir, topics, k=k, k1=k1, b=b, threads=threads, batch_size=batch_size)
        elif system == "dense":
            from prosper_pyserini.encode.cli import is_sparse, load_model
            from prosper_pyserini.search.dense import dense_search

            if not model:
                raise click.UsageError("--system dense needs --model")
            encoder = load_model(model)
            if is_sparse(encoder):
                raise click.UsageError(f"{model} is a sparse model; use --system impact")
            run = dense_search(index_dir, topics, encoder, k=k)
        elif system == "milvus":
            run = _milvus_search(uri, collection, topics, model, query_top_k, scale, k)
        elif system in BACKENDS:
            run, report = _backend_search(system, index_dir, topics, model, encoded_queries, query_top_k, scale, k,
                                          threads, backend_index, rebuild, recall_queries, backend_flags)
        else:
            run = _sparse_search(system, index_dir, topics, model, encoded_queries, query_top_k, scale, k,
                                 threads, batch_size, record.get("model_checksum"), min_idf)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    write_run(run, output, tag=name, output_format=output_format)
    click.echo(f"wrote {output}: {sum(len(r) for r in run.values())} rows for {len(run)} queries")
    if system in BACKENDS:
        from prosper_pyserini.data.formats import atomic_write

        with atomic_write(f"{output}.search.json") as out:
            json.dump(report, out, indent=2)
        recall = report["recall_at_k_vs_exact"]
        click.echo(f"{system}: recall@{k} vs exact {'not measured' if recall is None else f'{recall:.4f}'} "
                   f"({report['recall_queries']} queries); index {report['index']} "
                   f"({report['index_bytes'] / 1e6:.2f} MB, built in {report['build_s']:.1f} s"
                   f"{', reused' if report['reused'] else ''}); search {report['search_s']:.2f} s", err=True)
    empty = [qid for qid, ranked in run.items() if not ranked]
    if empty:  # they score 0 in every metric: a user should know why before reading the table
        click.echo(f"warning: {len(empty)} of {len(run)} queries have no results (e.g. {empty[0]!r}: "
                   "stopwords only, or no term in the index)", err=True)


SPARSE_SYSTEMS = ("impact", "exact", *BACKENDS, "milvus")


def _check_combination(ctx: click.Context, system: str) -> None:
    """Options that ``system`` does not use are refused, not ignored (a BM25 run with --model is a mistake)."""
    refuse_unused(ctx, ["model"], system != "bm25", "the learned systems (--system impact, exact, dense, seismic, "
                                                    "bmp, milvus)")
    refuse_unused(ctx, ["encoded_queries"], system in ("impact", "exact", *BACKENDS),
                  "--system impact, exact, seismic or bmp")
    refuse_unused(ctx, ["query_top_k", "scale"], system in SPARSE_SYSTEMS, "the sparse systems")
    refuse_unused(ctx, ["k1", "b"], system == "bm25", "--system bm25")
    refuse_unused(ctx, ["min_idf"], system == "impact", "--system impact")
    refuse_unused(ctx, ["backend_index", "rebuild", "recall_queries"], system in BACKENDS, "--system seismic or bmp")
    for backend in BACKENDS:
        refuse_unused(ctx, [p.name for p in ctx.command.params if (p.name or "").startswith(f"{backend}_")],
                      system == backend, f"--system {backend}")


def _milvus_search(uri: str, collection: str, topics: dict[str, str], model: str, top_k: int, scale: float,
                   k: int) -> dict[str, dict[str, float]]:
    """Encode the queries with ``model`` and search the Milvus collection it was loaded from."""
    from prosper_pyserini.export.milvus import MilvusError, search_collection, term_ids

    encoder = _sparse_model("milvus", uri, model, None, None)
    vectors = _query_vectors(encoder, None, topics, top_k, scale)
    try:
        return search_collection(uri, collection, vectors, term_ids(encoder.vocab_terms), k=k,
                                 model_checksum=str(encoder.checksum()))
    except MilvusError as exc:
        raise click.ClickException(str(exc)) from None


def _system(system: str, impact: bool, bm25: bool) -> str:
    """``--system``, or what Pyserini's ``--impact`` / ``--bm25`` flag says (they must not disagree)."""
    flagged = [name for name, on in (("impact", impact), ("bm25", bm25)) if on]
    explicit = click.get_current_context().get_parameter_source("system") is not click.core.ParameterSource.DEFAULT
    if len(flagged) > 1 or (flagged and explicit and flagged[0] != system):
        raise click.UsageError(f"--{' and --'.join(flagged)} and --system {system} disagree")
    return flagged[0] if flagged else system


INDEX_FILES = {"bm25": "segments_*", "impact": "segments_*", "dense": "index.faiss", "exact": "part-*.jsonl",
               **{name: "part-*.jsonl" for name in BACKENDS}}


def check_index(index_dir: str, system: str) -> dict[str, Any]:
    """Refuse a folder that is not this system's index before any model or JVM is loaded.

    An index built by prosper-index records its flags: a BM25 index searched as impact (or the reverse)
    runs, and scores a fraction of what it should. Returns that record (empty for other indexes).
    """
    folder = Path(index_dir)
    if not any(folder.glob(INDEX_FILES[system])):
        raise click.BadParameter(f"{index_dir} holds no {INDEX_FILES[system]}: not a {system} index",
                                 param_hint="'--index'")
    path = folder / "prosper-index.json"
    if system not in ("bm25", "impact") or not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    kind = "impact" if any(a.lstrip("-") == "impact" for a in record.get("argv", [])) else "bm25"
    if kind != system:
        raise click.BadParameter(f"{index_dir} was built for --system {kind} (see its prosper-index.json); "
                                 f"search it with --system {kind}", param_hint="'--index'")
    return record


def _sparse_search(system: str, index_dir: str, topics: dict[str, str], model: str | None,
                   encoded_queries: str | None, top_k: int, scale: float, k: int, threads: int, batch_size: int,
                   index_checksum: str | None = None, min_idf: float = -1.0):
    from prosper_pyserini.encode.queries import read_query_vectors

    encoder = _sparse_model(system, index_dir, model, encoded_queries, index_checksum)
    if system == "exact":
        from prosper_pyserini.search.exact import exact_search

        return exact_search(index_dir, _query_vectors(encoder, encoded_queries, topics, top_k, scale), k=k)
    from prosper_pyserini.search.impact import ProsperQueryEncoder, impact_search, vectors_by_text

    if encoded_queries:
        try:
            query_encoder = ProsperQueryEncoder(vectors=vectors_by_text(read_query_vectors(encoded_queries), topics))
        except KeyError as exc:
            raise click.ClickException(f"{encoded_queries}: {exc.args[0]}") from exc
    else:
        query_encoder = ProsperQueryEncoder(encoder, top_k=top_k or None, scale=scale)
    return impact_search(index_dir, topics, query_encoder, k=k, threads=threads, batch_size=batch_size, min_idf=min_idf)


def _backend_search(system: str, collection_dir: str, topics: dict[str, str], model: str | None,
                    encoded_queries: str | None, top_k: int, scale: float, k: int, threads: int,
                    backend_index: str | None, rebuild: bool, recall_queries: int,
                    flags: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Search with an in-process backend (built or reused), then measure its recall@k against exact scoring."""
    import time

    from prosper_pyserini.search.backend import BackendUnavailable, backend_search, make_params, open_or_build
    from prosper_pyserini.search.exact import ExactScorer, recall_at_k

    prefix = f"{system}_"
    params = make_params(system, {key[len(prefix):]: value for key, value in flags.items() if key.startswith(prefix)})
    from prosper_pyserini.encode.parts import metadata_path

    settings = metadata_path(collection_dir, "settings")
    made_by = json.loads(settings.read_text(encoding="utf-8")).get("model_checksum") if settings.is_file() else None
    encoder = _sparse_model(system, collection_dir, model, encoded_queries, made_by)
    vectors = _query_vectors(encoder, encoded_queries, topics, top_k, scale)
    try:
        backend, record = open_or_build(system, collection_dir, backend_index, params, threads=threads, rebuild=rebuild)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    t0 = time.perf_counter()
    run = backend_search(backend, vectors, k=k, threads=threads)
    search_s = time.perf_counter() - t0
    recall, counted = None, 0
    if recall_queries:
        recall, counted = recall_at_k(ExactScorer(collection_dir), vectors, run, k, max_queries=recall_queries)
    report = {"system": system, "k": k, "queries": len(vectors), "recall_at_k_vs_exact": recall,
              "recall_queries": counted, "search_s": round(search_s, 3), "threads": threads,
              "params": dataclasses.asdict(params), "index": str(backend.folder), "reused": record["reused"],
              "build_s": record["build_s"], "index_bytes": record["index_bytes"], "docs": record["docs"]}
    return run, report


def _sparse_model(system: str, index_dir: str, model: str | None, encoded_queries: str | None,
                  index_checksum: str | None) -> Any:
    """The sparse encoder of --model (None with --encoded-queries), refused when it did not encode the index."""
    if (model is None) == (encoded_queries is None):
        raise click.UsageError(f"--system {system} needs exactly one of --model, --encoded-queries")
    if not model:
        return None
    from prosper_pyserini.encode.cli import is_sparse, load_model

    encoder = load_model(model)
    if not is_sparse(encoder):
        raise click.UsageError(f"{model} is a dense model; use --system dense")
    if index_checksum and str(encoder.checksum()) != index_checksum:
        raise click.BadParameter(f"{index_dir} was encoded by another model (checksum {index_checksum[:12]}…, "
                                 f"{model} is {str(encoder.checksum())[:12]}…); search it with that model",
                                 param_hint="'--model'")
    return encoder


def _query_vectors(encoder: Any, encoded_queries: str | None, topics: dict[str, str], top_k: int,
                   scale: float) -> dict[str, dict[str, int]]:
    """``{qid: {term: int}}`` for every topic: encoded by ``encoder`` or read from --encoded-queries."""
    from prosper_pyserini.encode.queries import encode_queries, read_query_vectors

    vectors = (read_query_vectors(encoded_queries) if encoded_queries
               else encode_queries(encoder, topics, top_k=top_k or None, scale=scale))
    missing = [q for q in topics if q not in vectors]
    if missing:
        raise click.ClickException(f"{encoded_queries}: no vector for {len(missing)} queries, e.g. {missing[0]!r}")
    return {q: vectors[q] for q in topics}


if __name__ == "__main__":
    main()
