"""Brute-force scoring of a ``JsonVectorCollection``: the reference the Lucene impact index must equal.

Documents become a ``docs × terms`` CSR matrix of integer impacts, queries a sparse vector, and a score is
the exact integer dot product ``sum(q_t * d_t)`` -- what Anserini's impact similarity computes. Used by
tests (Lucene top-k == exact top-k) and as ``prosper-search --system exact`` for small corpora.

:func:`encode_and_score` computes the same integers from an encoder without the collection files, as dense
float64 products on the encoder's device (a GPU): float64 holds every score exactly (far below 2**53).
"""

from __future__ import annotations

import os
from array import array
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from prosper_pyserini.data.formats import Doc, Run, ranked
from prosper_pyserini.encode.parts import read_vectors
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE, TermWeights


class ExactScorer:
    def __init__(self, collection_dir: str | os.PathLike[str]):
        self.docids: list[str] = []
        self.term_index: dict[str, int] = {}
        # compact buffers (4 bytes an entry), not Python lists: a collection has ~500 terms per product
        indptr, indices, data = array("q", [0]), array("i"), array("i")
        for docid, vector in read_vectors(collection_dir):
            self.docids.append(docid)
            for term, weight in vector.items():
                indices.append(self.term_index.setdefault(term, len(self.term_index)))
                data.append(int(weight))
            indptr.append(len(indices))
        shape = (len(self.docids), len(self.term_index))
        self.matrix = sp.csr_matrix((np.frombuffer(data, dtype=np.int32), np.frombuffer(indices, dtype=np.int32),
                                     np.frombuffer(indptr, dtype=np.int64)), shape=shape)
        self._rows: dict[str, int] | None = None

    def scores(self, query: Mapping[str, int]) -> np.ndarray:
        """Integer score of every document (int64, exact)."""
        q = np.zeros(len(self.term_index), dtype=np.int64)
        for term, weight in query.items():
            j = self.term_index.get(term)
            if j is not None:
                q[j] = int(weight)
        return self.matrix @ q

    def search(self, query: Mapping[str, int], k: int = 1000) -> list[tuple[str, int]]:
        """Top-``k`` (docid, score) with positive score, by score then docid."""
        return top_k(self.scores(query), self.docids, k)

    def recall(self, query: Mapping[str, int], returned: Sequence[str], k: int) -> float | None:
        """Tie-aware recall@k of ``returned`` against the exact top ``k`` (None when no document scores > 0).

        A returned document counts when its exact score is positive and reaches the exact k-th score, so
        products tied at the cut may be swapped freely.
        """
        if self._rows is None:
            self._rows = {d: i for i, d in enumerate(self.docids)}
        scores = self.scores(query)
        positive = int((scores > 0).sum())
        if positive == 0:
            return None
        kk = min(k, positive)
        kth = np.partition(scores, len(scores) - kk)[len(scores) - kk]
        rows = [self._rows.get(d) for d in list(returned)[:k]]
        hits = sum(1 for i in rows if i is not None and scores[i] >= kth)
        return min(1.0, hits / kk)


def recall_at_k(scorer: ExactScorer, query_vectors: Mapping[str, Mapping[str, int]], run: Run, k: int,
                max_queries: int | None = None) -> tuple[float | None, int]:
    """Mean :meth:`ExactScorer.recall` of ``run`` over (the first ``max_queries`` of) ``query_vectors``.

    Returns ``(mean recall, queries counted)``; queries no document matches are not counted.
    """
    values = []
    for qid in list(query_vectors)[:max_queries]:
        value = scorer.recall(query_vectors[qid], list(run.get(qid, {})), k)
        if value is not None:
            values.append(value)
    return (float(np.mean(values)) if values else None), len(values)


def encode_and_score(encoder: Any, docs: Sequence[Doc], queries: Mapping[str, str], k: int = 1000,
                     scale: float = DEFAULT_SCALE, query_top_k: int | None = DEFAULT_QUERY_TOP_K,
                     batch_size: int = 256) -> tuple[Run, dict[str, float]]:
    """Exact top-``k`` run of ``queries`` over ``docs``, encoded and scored on the encoder's device.

    The integers of ``prosper-encode`` → ``prosper-search --system exact`` (same quantization, top-16 query
    cut, ties by docid), without the collection files: on a GPU the product vectors never leave it, which is
    what makes an LLM vocabulary (tens of thousands of active terms per product for SP-LLM) tractable.
    Returns the run and :func:`~prosper_pyserini.eval.sparsity.sparsity_stats` of the same vectors.

    Args:
        encoder: a loaded sparse encoder (``vocab_terms``, ``encode_batches``).
        docs: the products to rank.
        queries: ``{qid: text}``.
    Returns:
        ``(run, sparsity)``.
    """
    weights = TermWeights(encoder.vocab_terms, scale)
    qids = list(queries)
    texts = [queries[q] for q in qids]
    query_impacts = torch.cat([weights.dense_impacts(batch, query_top_k)
                               for batch in encoder.encode_batches(texts, "query", batch_size)])
    scores, doc_df, doc_terms = [], torch.zeros_like(query_impacts[0]), 0
    for batch in encoder.encode_batches([d.text for d in docs], "doc", batch_size):
        impacts = weights.dense_impacts(batch)
        scores.append((impacts @ query_impacts.T).round().long().cpu())
        active = impacts > 0
        doc_df += active.sum(0)
        doc_terms += int(active.sum())
    matrix = torch.cat(scores).numpy()   # [docs, queries] exact integers
    ids = [d.id for d in docs]
    run = {qid: {d: float(s) for d, s in top_k(matrix[:, j], ids, k)} for j, qid in enumerate(qids)}
    query_active = query_impacts > 0
    flops = float((query_active.double().mean(0) * doc_df / len(docs)).sum())
    sparsity = {"products": len(docs), "queries": len(qids), "avg_terms_per_product": round(doc_terms / len(docs), 2),
                "avg_terms_per_query": round(float(query_active.sum()) / len(qids), 2), "flops": round(flops, 4)}
    return run, sparsity


def top_k(scores: np.ndarray, docids: list[str], k: int) -> list[tuple[str, int]]:
    """The ``k`` best (docid, score) pairs with a positive score, in :func:`~prosper_pyserini.data.formats.ranked` order."""
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:  # keep every document tied with the k-th score, then sort those few
        kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
        hits = hits[scores[hits] >= kth]
    return [(d, int(s)) for d, s in ranked({docids[i]: int(scores[i]) for i in hits.tolist()})[:k]]


def exact_search(collection_dir: str, query_vectors: Mapping[str, Mapping[str, int]], k: int = 1000) -> Run:
    scorer = ExactScorer(collection_dir)
    return {qid: {d: float(s) for d, s in scorer.search(vector, k)} for qid, vector in query_vectors.items()}
