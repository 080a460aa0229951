"""Dense retrieval: exact inner-product search over a FAISS flat index (see :mod:`prosper_pyserini.index.faiss`)."""

from __future__ import annotations

from typing import Any, Mapping

from tqdm import tqdm

from prosper_pyserini.data.formats import Run
from prosper_pyserini.index.faiss import embed, load_faiss_index


def dense_search(index_dir: str, queries: Mapping[str, str], encoder: Any, k: int = 1000,
                 batch_size: int = 64) -> Run:
    """Top-``k`` documents by inner product for every query, queries encoded in batches (``side="query"``)."""
    index, docids = load_faiss_index(index_dir)
    k = min(k, len(docids))
    run: Run = {}
    qids = list(queries)
    with tqdm(total=len(qids), desc="dense search", unit="q") as bar:
        for start in range(0, len(qids), batch_size):
            chunk = qids[start : start + batch_size]
            vectors = embed(encoder, [queries[q] for q in chunk], side="query")
            if vectors.shape[1] != index.d:
                raise ValueError(f"query dimension {vectors.shape[1]} != index dimension {index.d}")
            scores, rows = index.search(vectors, k)
            for qid, row_scores, row_ids in zip(chunk, scores, rows):
                run[qid] = {docids[j]: float(s) for s, j in zip(row_scores, row_ids) if j >= 0}
            bar.update(len(chunk))
    return run
