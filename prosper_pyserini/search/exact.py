"""Brute-force scoring of a ``JsonVectorCollection``: the reference the Lucene impact index must equal.

Documents become a ``docs × terms`` CSR matrix of integer impacts, queries a sparse vector, and a score is
the exact integer dot product ``sum(q_t * d_t)`` -- what Anserini's impact similarity computes. Used by
tests (Lucene top-k == exact top-k) and as ``prosper-search --system exact`` for small corpora.

:meth:`ExactScorer.search_many` scores a whole query set as one sparse-dense product with torch, on a GPU
when ``device="cuda"``: float64 holds every integer score exactly (they stay far below 2**53), so it
returns the same run as :meth:`ExactScorer.search`, query by query.
"""

from __future__ import annotations

import os
import warnings
from typing import Mapping

import numpy as np
import torch
import scipy.sparse as sp

from prosper_pyserini.data.formats import Run
from prosper_pyserini.encode.collection import read_vectors


class ExactScorer:
    def __init__(self, collection_dir: str | os.PathLike[str]):
        self.docids: list[str] = []
        self.term_index: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for docid, vector in read_vectors(collection_dir):
            self.docids.append(docid)
            for term, weight in vector.items():
                indices.append(self.term_index.setdefault(term, len(self.term_index)))
                data.append(int(weight))
            indptr.append(len(indices))
        shape = (len(self.docids), len(self.term_index))
        self.matrix = sp.csr_matrix((np.array(data, dtype=np.int64), np.array(indices, dtype=np.int64),
                                     np.array(indptr, dtype=np.int64)), shape=shape)

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

    def search_many(self, queries: Mapping[str, Mapping[str, int]], k: int = 1000, device: str = "cpu",
                    batch_size: int = 256) -> Run:
        """The run of :meth:`search` for every query, scored ``batch_size`` queries at a time on ``device``."""
        matrix = self.matrix
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        docs = torch.sparse_csr_tensor(torch.from_numpy(matrix.indptr), torch.from_numpy(matrix.indices),
                                       torch.from_numpy(matrix.data).double(), size=matrix.shape).to(device)
        qids = list(queries)
        run: Run = {}
        for start in range(0, len(qids), batch_size):
            chunk = qids[start:start + batch_size]
            dense = torch.zeros(len(self.term_index), len(chunk), dtype=torch.float64)
            for column, qid in enumerate(chunk):
                for term, weight in queries[qid].items():
                    row = self.term_index.get(term)
                    if row is not None:
                        dense[row, column] = int(weight)
            scores = (docs @ dense.to(device)).round().long().cpu().numpy()   # [docs, queries], exact integers
            for column, qid in enumerate(chunk):
                run[qid] = {d: float(s) for d, s in top_k(scores[:, column], self.docids, k)}
        return run


def top_k(scores: np.ndarray, docids: list[str], k: int) -> list[tuple[str, int]]:
    """The ``k`` best (docid, score) pairs with a positive score, by score, then docid ascending."""
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:  # keep every document tied with the k-th score, then sort those few
        kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
        hits = hits[scores[hits] >= kth]
    order = sorted(hits.tolist(), key=lambda i: (-scores[i], docids[i]))[:k]
    return [(docids[i], int(scores[i])) for i in order]


def exact_search(collection_dir: str, query_vectors: Mapping[str, Mapping[str, int]], k: int = 1000,
                 device: str | None = None) -> Run:
    """Brute-force run over a collection folder; ``device`` scores all queries at once with torch (e.g. cuda)."""
    scorer = ExactScorer(collection_dir)
    if device is not None:
        return scorer.search_many(query_vectors, k, device=device)
    return {qid: {d: float(s) for d, s in scorer.search(vector, k)} for qid, vector in query_vectors.items()}
