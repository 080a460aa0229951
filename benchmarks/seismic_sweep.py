"""Seismic settings on dev queries: recall@k against exact scoring and single-query search time, per setting.

    python benchmarks/seismic_sweep.py --collection DIR --model CKPT [--queries 400] [--k 1000]
        --builds 2000:0.4:0.05 4000:0.7:0.1 [--query-cuts 16,10] [--heap-factors 0.8]

Each ``--builds`` item is ``n_postings:summary_energy:centroid_fraction`` (``max_fraction`` 1.5); each build is
searched with every ``query_cut`` x ``heap_factor``, one query at a time on one thread, over the first
``--queries`` dev queries of the prepared Home Depot split, encoded by ``--model`` (the model that made the
collection). Prints one line per setting: build seconds, search p50/p95 ms, mean and minimum recall@k (tie-aware,
queries with no positive score skipped). The sweeps in the docstring of
``prosper_pyserini/search/seismic_index.py`` were made this way; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collection", required=True, help="prosper-encode JsonVectorCollection folder")
    parser.add_argument("--model", required=True, help="the checkpoint that made it (encodes the queries)")
    parser.add_argument("--queries", type=int, default=400, help="first N dev queries")
    parser.add_argument("--dev", default="work/homedepot/data/queries.dev.tsv", help="dev query file")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--builds", nargs="+", required=True, help="n_postings:summary_energy:centroid_fraction")
    parser.add_argument("--query-cuts", default="16,10")
    parser.add_argument("--heap-factors", default="0.8")
    args = parser.parse_args()
    torch.set_num_threads(1)

    import seismic

    from prosper_pyserini.data.formats import read_queries
    from prosper_pyserini.encode.queries import encode_queries
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.search.exact import ExactScorer

    queries = dict(list(read_queries(args.dev).items())[: args.queries])
    vectors = encode_queries(load_encoder(args.model), queries, batch_size=64, progress=False)
    exact = ExactScorer(args.collection)
    matrix = exact.matrix.tocsr()
    matrix.sort_indices()
    string = seismic.get_seismic_string()
    prepared = []
    for vector in vectors.values():
        items = [(exact.term_index[t], w) for t, w in vector.items() if t in exact.term_index]
        if items:
            prepared.append((vector, np.array([str(c) for c, _ in items], dtype=string),
                             np.array([w for _, w in items], dtype=np.float32)))

    for spec in args.builds:
        n_postings, energy, centroids = spec.split(":")
        dataset = seismic.SeismicDataset()
        t0 = time.time()
        dataset.add_documents_by_id(exact.docids, matrix.indices.astype(np.int64), matrix.data.astype(np.float32),
                                    matrix.indptr.astype(np.int64))
        index = seismic.SeismicIndex.build_from_dataset(
            dataset, n_postings=int(n_postings), centroid_fraction=float(centroids), summary_energy=float(energy),
            max_fraction=1.5, num_threads=2)
        built = time.time() - t0
        del dataset
        for cut in (int(c) for c in args.query_cuts.split(",")):
            for heap in (float(h) for h in args.heap_factors.split(",")):
                times, recalls = [], []
                for vector, components, values in prepared:
                    t0 = time.perf_counter()
                    hits = index.search("q", components, values, k=args.k, query_cut=min(cut, len(components)),
                                        heap_factor=heap)
                    times.append(time.perf_counter() - t0)
                    r = exact.recall(vector, [h[2] for h in hits], args.k)
                    if r is not None:
                        recalls.append(r)
                print(f"n_postings={n_postings} summary_energy={energy} centroid_fraction={centroids} "
                      f"query_cut={cut} heap_factor={heap} build={built:.1f}s p50={np.median(times) * 1e3:.2f}ms "
                      f"p95={np.percentile(times, 95) * 1e3:.2f}ms recall@{args.k}={np.mean(recalls):.4f} "
                      f"min={np.min(recalls):.3f}", flush=True)
        del index


if __name__ == "__main__":
    main()
