"""Brute-force scoring of a ``JsonVectorCollection``: the reference the Lucene impact index must equal.

Documents become a ``docs × terms`` CSR matrix of integer impacts, queries a sparse vector, and a score is
the exact integer dot product ``sum(q_t * d_t)`` -- what Anserini's impact similarity computes. Used by
tests (Lucene top-k == exact top-k) and as ``prosper-search --system exact`` for small corpora.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
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
        scores = self.scores(query)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:  # keep every document tied with the k-th score, then sort those few
            kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
            hits = hits[scores[hits] >= kth]
        order = sorted(hits.tolist(), key=lambda i: (-scores[i], self.docids[i]))[:k]
        return [(self.docids[i], int(scores[i])) for i in order]


def exact_search(collection_dir: str, query_vectors: Mapping[str, Mapping[str, int]], k: int = 1000) -> Run:
    scorer = ExactScorer(collection_dir)
    return {qid: {d: float(s) for d, s in scorer.search(vector, k)} for qid, vector in query_vectors.items()}
