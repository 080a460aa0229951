"""Sparsity of a learned sparse system: terms per query and per product, and the FLOPS cost estimate.

FLOPS (Paria et al., 2020; used by SPLADE) is the expected number of term multiplications per
query-product pair: ``sum_j p_q(j) * p_d(j)``, with ``p(j)`` the share of queries (products) in which
vocabulary term ``j`` is active.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping


def sparsity_stats(doc_vectors: Iterable[Mapping[str, int]], query_vectors: Iterable[Mapping[str, float]]) -> dict[str, float]:
    doc_df: Counter[str] = Counter()
    n_docs = doc_terms = 0
    for vector in doc_vectors:
        n_docs += 1
        doc_terms += len(vector)
        doc_df.update(vector.keys())
    query_df: Counter[str] = Counter()
    n_queries = query_terms = 0
    for vector in query_vectors:
        n_queries += 1
        query_terms += len(vector)
        query_df.update(term for term, weight in vector.items() if weight)
    if not n_docs or not n_queries:
        raise ValueError("sparsity needs at least one product and one query vector")
    flops = sum(count / n_queries * doc_df[term] / n_docs for term, count in query_df.items())
    return {
        "products": n_docs,
        "queries": n_queries,
        "avg_terms_per_product": round(doc_terms / n_docs, 2),
        "avg_terms_per_query": round(query_terms / n_queries, 2),
        "flops": round(flops, 4),
    }
