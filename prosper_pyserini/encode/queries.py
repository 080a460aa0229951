"""Queries → their top-k quantized terms, in memory or as files Pyserini and Anserini read.

The query side uses the document side's term strings and quantization (:class:`TermWeights`) and keeps
only the ``top_k`` heaviest terms (16 by default, as in the paper) -- the cut is applied to float weights,
before quantization, so it does not depend on the scale.

File formats (chosen by the output suffix):

* ``.jsonl``: ``{"id", "contents", "vector": {term: int}}`` -- what Pyserini's ``CachedDataQueryEncoder``
  loads (``LuceneImpactSearcher(index, "queries.jsonl")``) and what ``prosper-search --encoded-queries`` reads;
* ``.tsv``: ``qid<TAB>term term term ...`` with each term repeated ``weight`` times -- the pre-encoded topic
  format of Anserini's ``SearchCollection -impact -pretokenized``, which counts repetitions as weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from tqdm import tqdm

from prosper_pyserini.data.formats import InputError, atomic_write
from prosper_pyserini.encode.collection import encode_texts
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE, TermWeights

QueryVectors = dict[str, dict[str, int]]


def encode_queries(
    encoder: Any,
    queries: Mapping[str, str],
    *,
    top_k: int | None = DEFAULT_QUERY_TOP_K,
    scale: float = DEFAULT_SCALE,
    batch_size: int = 64,
    weights: TermWeights | None = None,
    progress: bool = True,
) -> QueryVectors:
    """``{qid: {term: int}}`` for every query, encoded in batches (``side="query"``)."""
    weights = weights or TermWeights(encoder.vocab_terms, scale)
    qids = list(queries)
    out: QueryVectors = {}
    with tqdm(total=len(qids), desc="encoding queries", unit="q", disable=not progress) as bar:
        for start in range(0, len(qids), batch_size):
            chunk = qids[start : start + batch_size]
            dense = encode_texts(encoder, [queries[q] for q in chunk], side="query")
            out.update(zip(chunk, weights.int_vectors(dense, top_k=top_k)))
            bar.update(len(chunk))
    return out


def write_query_vectors(vectors: QueryVectors, queries: Mapping[str, str], path: str | os.PathLike[str]) -> None:
    """Write ``.jsonl`` (Pyserini) or ``.tsv`` (Anserini, repeated terms); see the module docstring."""
    suffix = Path(path).suffix
    if suffix not in (".jsonl", ".tsv"):
        raise ValueError(f"{path}: query vectors are written as .jsonl or .tsv, not {suffix or 'no suffix'}")
    with atomic_write(path) as out:
        for qid, vector in vectors.items():
            if suffix == ".jsonl":
                out.write(json.dumps({"id": qid, "contents": queries[qid], "vector": vector}, ensure_ascii=False) + "\n")
            else:
                out.write(qid + "\t" + " ".join(" ".join([t] * w) for t, w in vector.items()) + "\n")


def read_query_vectors(path: str | os.PathLike[str]) -> QueryVectors:
    """Read the ``.jsonl`` written by :func:`write_query_vectors`."""
    vectors: QueryVectors = {}
    with open(path, encoding="utf-8-sig") as handle:  # -sig: a BOM is not part of the first id
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                qid, vector = str(obj["id"]), {str(t): int(w) for t, w in obj["vector"].items()}
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InputError(path, number, f"expected {{'id', 'vector': {{term: int}}}} ({exc})") from exc
            if qid in vectors:
                raise InputError(path, number, f"duplicate query id {qid!r}")
            vectors[qid] = vector
    return vectors
