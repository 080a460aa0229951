"""Size on disk and build time: Lucene impact index vs BM25 index vs a finer-quantized impact index.

    python benchmarks/index_size.py [--quick] [--collection DIR] [--corpus FILE] [--subset 1000]

Two comparisons, each over identical products:

* Whole collection (``--collection``, default ``collections/hd-splade-tiny`` when present): the impact index
  (``JsonVectorCollection -impact -pretokenized``, scale 100) vs BM25 (``JsonCollection`` of the same
  products' text), minimal (ids only, as the impact index) and with positions + docvectors + raw (the
  documented ``prosper-index`` BM25 command).
* Quantization (the first ``--subset`` products, encoded here with zero-shot SPLADE-tiny once and quantized
  twice): scale 100 vs scale 10000. Anserini reads vector weights with ``asInt()``, so a float index does not
  exist; scale 10000 (4 decimal digits) is the closest to unquantized weights it can store.

Terms per product: impact = postings per product (vector length); BM25 = analyzed tokens per product.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import torch

DEFAULT_COLLECTION = _common.ROOT / "collections" / "hd-splade-tiny"


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def index(kind: str, input_dir: Path, out: Path, threads: int) -> dict[str, Any]:
    """Build one index; return bytes, seconds and Lucene's own counts."""
    from pyserini.index.lucene import LuceneIndexReader

    from prosper_pyserini.index.lucene import run_indexer

    flags = {"impact": ["-collection", "JsonVectorCollection", "-impact", "-pretokenized"],
             "bm25": ["-collection", "JsonCollection"],
             "bm25-full": ["-collection", "JsonCollection", "-storePositions", "-storeDocvectors", "-storeRaw"]}
    t0 = time.perf_counter()
    run_indexer(flags[kind] + ["-input", str(input_dir), "-index", str(out), "-generator",
                               "DefaultLuceneDocumentGenerator", "-threads", str(threads)])
    seconds = time.perf_counter() - t0
    stats = LuceneIndexReader(str(out)).stats()
    return {"bytes": du(out), "build_s": round(seconds, 2), "documents": stats["documents"],
            # Anserini reports -1 unique terms for some multi-segment indexes: unknown, not a count
            "unique_terms": stats["unique_terms"] if stats["unique_terms"] >= 0 else None,
            "total_terms": stats["total_terms"]}


def write_text_collection(vector_dir: Path, out: Path) -> None:
    """The products' text from a JsonVectorCollection, as a JsonCollection (same ids, same text)."""
    out.mkdir(parents=True)
    with open(out / "docs.jsonl", "w", encoding="utf-8") as fh:
        for path in sorted(vector_dir.glob("part-*.jsonl")):
            for line in open(path, encoding="utf-8"):
                obj = json.loads(line)
                fh.write(json.dumps({"id": obj["id"], "contents": obj["contents"]}, ensure_ascii=False) + "\n")


def vector_stats(vector_dir: Path) -> dict[str, float]:
    from prosper_pyserini.encode.collection import read_vectors

    n = postings = impact = 0
    for _, vec in read_vectors(vector_dir):
        n, postings, impact = n + 1, postings + len(vec), impact + sum(vec.values())
    return {"products": n, "terms_per_product": round(postings / n, 2), "postings": postings,
            "json_bytes": du(vector_dir)}


def encode_subset(corpus: str, n: int, work: Path, scales: list[float]) -> dict[float, Path]:
    """Encode the first ``n`` products once; write one JsonVectorCollection per quantization scale."""
    from prosper_pyserini.data.formats import read_corpus
    from prosper_pyserini.encode.collection import encode_texts, length_sorted_batches
    from prosper_pyserini.encode.quantize import TermWeights
    from prosper_pyserini.model import load_encoder

    encoder = load_encoder("splade-tiny")
    docs = []
    for doc in read_corpus(corpus):
        docs.append(doc)
        if len(docs) == n:
            break
    weights = {s: TermWeights(encoder.vocab_terms, s) for s in scales}
    vectors: dict[float, list] = {s: [None] * len(docs) for s in scales}
    for batch in length_sorted_batches(docs, 32):
        dense = encode_texts(encoder, [docs[i].text for i in batch], side="doc")
        for s in scales:
            for i, vec in zip(batch, weights[s].int_vectors(dense)):
                vectors[s][i] = vec
    out = {}
    for s in scales:
        folder = work / f"subset-scale{s:g}"
        folder.mkdir(parents=True)
        with open(folder / "part-00000.jsonl", "w", encoding="utf-8") as fh:
            for doc, vec in zip(docs, vectors[s]):
                if vec:
                    fh.write(json.dumps({"id": doc.id, "contents": doc.text, "vector": vec}, ensure_ascii=False) + "\n")
        out[s] = folder
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the embedded sample only (~1 min)")
    parser.add_argument("--collection", help="SPLADE-tiny JsonVectorCollection folder (whole-collection comparison)")
    parser.add_argument("--corpus", help="products JSONL for the quantization subset")
    parser.add_argument("--subset", type=int, default=1000, help="products encoded for the scale comparison")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from prosper_pyserini.java import ensure_jvm

    ensure_jvm()
    payload: dict[str, Any] = {"command": _common.command_line(), "machine": _common.machine()}
    corpus = args.corpus or str(_common.default_corpus(args.quick))
    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    rows = []
    try:
        subsets = encode_subset(corpus, args.subset, work, [100.0, 10000.0])
        collection = Path(args.collection) if args.collection else (
            DEFAULT_COLLECTION if DEFAULT_COLLECTION.exists() and not args.quick else subsets[100.0])
        comparisons = [("collection", collection, [("impact", "impact scale 100"), ("bm25", "BM25 minimal"),
                                                   ("bm25-full", "BM25 +positions/docvectors/raw")]),
                       ("subset", subsets[100.0], [("impact", "impact scale 100"), ("bm25", "BM25 minimal")]),
                       ("subset", subsets[10000.0], [("impact", "impact scale 10000")])]
        for label, vec_dir, kinds in comparisons:
            vs = vector_stats(vec_dir)
            text_dir = work / f"text-{label}-{vec_dir.name}"
            write_text_collection(vec_dir, text_dir)
            for kind, name in kinds:
                out = work / f"index-{label}-{vec_dir.name}-{kind}"
                got = index(kind, vec_dir if kind == "impact" else text_dir, out, args.threads)
                terms = vs["terms_per_product"] if kind == "impact" else round(got["total_terms"] / got["documents"], 2)
                rows.append({"products_set": label, "products": got["documents"], "index": name,
                             "size_mb": round(got["bytes"] / 2**20, 2),
                             "bytes_per_product": round(got["bytes"] / got["documents"], 1),
                             "build_s": got["build_s"], "products_per_s": round(got["documents"] / got["build_s"], 1),
                             "terms_per_product": terms, "unique_terms": got["unique_terms"],
                             "collection_json_mb": round(vs["json_bytes"] / 2**20, 2)})
                print(rows[-1], flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    payload.update(collection=str(collection), corpus=corpus, subset=args.subset, results=rows)
    _common.finish("index_size" + ("-quick" if args.quick else ""), payload, {"Index size and build time": _common.markdown_table(rows)})


if __name__ == "__main__":
    main()
