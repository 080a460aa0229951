"""Per-query latency (encode + search) of Lucene impact search vs BM25 vs Seismic, with recall vs exact.

    python benchmarks/query_latency.py [--quick] [--collection DIR] [--scales 1,4] [--threads 2]

* Collection: ``--collection DIR`` (a ``prosper-encode`` JsonVectorCollection of SPLADE-tiny), by default
  ``collections/hd-splade-tiny`` when present (full run), else the embedded sample encoded here. Its
  ``model_checksum`` must equal the SPLADE-tiny weights' checksum, so queries and documents match.
* Corpus growth: the collection replicated ×r with distinct ids (``ID~c``); Lucene impact, BM25 (the same
  products' text, ``JsonCollection``) and Seismic (``pyseismic-lsr``, built from the same integer impacts)
  indexes are built for each r.
* Queries: the distinct search terms of the real ``train.csv.zip`` when present, else the sample's,
  repeated to ``--queries``. The model encodes each query alone (batch 1) on ``--query-threads`` torch threads;
  each engine searches it alone on one thread. ``total = encode + search`` per query; p50/p95/p99 over all.
* Batch mode: all queries encoded in batches of 64 and searched with ``--threads`` threads (throughput).
* ``impact-no-hit-read``: the same Lucene search, hits left in Java (isolates reading docids through jnius).
* Recall@k of each engine's top k against the exact top k (:mod:`prosper_pyserini.search.exact`, tie-aware:
  a returned document counts when its exact score reaches the k-th exact score). For BM25 this is only the
  overlap with the impact ranking, not an effectiveness measure.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np
import torch

DEFAULT_COLLECTION = _common.ROOT / "collections" / "hd-splade-tiny"
SEISMIC = {"n_postings": 3500, "centroid_fraction": 0.1, "summary_energy": 0.4, "heap_factor": 0.8}


def ms(seconds: float) -> float:
    return seconds * 1000.0


def load_queries(n: int) -> tuple[list[str], str]:
    from prosper_pyserini.data.homedepot import read_train_csv

    source = _common.REAL_TRAIN if _common.REAL_TRAIN.exists() else _common.SAMPLE_TRAIN
    distinct = list(dict.fromkeys(row.query.strip() for row in read_train_csv(source, on_error="skip")))
    return [distinct[i % len(distinct)] for i in range(n)], f"{source} ({len(distinct)} distinct)"


def prepare_collection(args: argparse.Namespace, encoder: Any, work: Path) -> Path:
    from prosper_pyserini.encode.collection import encode_corpus, metadata_path

    if args.collection or (not args.quick and DEFAULT_COLLECTION.exists() and not args.corpus):
        folder = Path(args.collection or DEFAULT_COLLECTION)
        settings = json.loads(metadata_path(folder, "settings").read_text())
        if settings["model_checksum"] != encoder.checksum():
            raise SystemExit(f"{folder}: made with another model ({settings['model']}), not zero-shot splade-tiny")
        return folder
    corpus = args.corpus or str(_common.default_corpus(args.quick))
    encode_corpus(encoder, corpus, work / "collection", model_name="splade-tiny")
    return work / "collection"


def replicate(collection: Path, r: int, out: Path, bm25_out: Path) -> int:
    """Write the collection ×r (ids ``ID`` then ``ID~1`` …) and the same products as a JsonCollection."""
    out.mkdir(parents=True)
    bm25_out.mkdir(parents=True)
    lines = []
    for path in sorted(collection.glob("part-*.jsonl")):
        lines += path.read_text(encoding="utf-8").splitlines()
    n = 0
    with open(out / "part-00000.jsonl", "w") as vec, open(bm25_out / "docs.jsonl", "w") as txt:
        for c in range(r):
            for line in lines:
                obj = json.loads(line)
                if c:
                    obj["id"] = f"{obj['id']}~{c}"
                vec.write(json.dumps(obj, ensure_ascii=False) + "\n")
                txt.write(json.dumps({"id": obj["id"], "contents": obj["contents"]}, ensure_ascii=False) + "\n")
                n += 1
    return n


def build_indexes(vec_dir: Path, txt_dir: Path, work: Path, threads: int) -> dict[str, Any]:
    from prosper_pyserini.index.lucene import run_indexer

    out: dict[str, Any] = {}
    for name, flags in (("impact", ["-collection", "JsonVectorCollection", "-input", str(vec_dir), "-impact",
                                    "-pretokenized"]),
                        ("bm25", ["-collection", "JsonCollection", "-input", str(txt_dir)])):
        index = work / f"index-{name}"
        t0 = time.perf_counter()
        run_indexer(flags + ["-index", str(index), "-generator", "DefaultLuceneDocumentGenerator",
                             "-threads", str(threads)])
        out[name] = {"path": str(index), "build_s": round(time.perf_counter() - t0, 2)}
    return out


class Exact:
    """Exact integer scores of the replicated collection: the 1× CSR matrix stacked r times (same docs)."""

    def __init__(self, base: Any, r: int):
        import scipy.sparse as sp

        self.term_index = base.term_index
        self.docids = [d if c == 0 else f"{d}~{c}" for c in range(r) for d in base.docids]
        self.row = {d: i for i, d in enumerate(self.docids)}
        self.matrix = sp.vstack([base.matrix] * r, format="csr") if r > 1 else base.matrix

    def scores(self, query: dict[str, int]) -> np.ndarray:
        q = np.zeros(len(self.term_index), dtype=np.int64)
        for term, weight in query.items():
            j = self.term_index.get(term)
            if j is not None:
                q[j] = weight
        return self.matrix @ q

    def recall(self, query: dict[str, int], returned: list[str], k: int) -> float | None:
        """Tie-aware recall@k of ``returned`` against the exact top k (None when nothing scores > 0)."""
        scores = self.scores(query)
        positive = int((scores > 0).sum())
        if positive == 0:
            return None
        kk = min(k, positive)
        kth = np.partition(scores, len(scores) - kk)[len(scores) - kk]
        hits = sum(1 for d in returned[:k] if d in self.row and scores[self.row[d]] >= kth and scores[self.row[d]] > 0)
        return min(1.0, hits / kk)


def build_seismic(vec_dir: Path, threads: int) -> tuple[Any, float]:
    import seismic

    string = seismic.get_seismic_string()
    dataset = seismic.SeismicDataset()
    t0 = time.perf_counter()
    for path in sorted(vec_dir.glob("part-*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                vec = obj["vector"]
                dataset.add_document(obj["id"], np.array(list(vec), dtype=string),
                                     np.array(list(vec.values()), dtype=np.float32))
    index = seismic.SeismicIndex.build_from_dataset(
        dataset, n_postings=SEISMIC["n_postings"], centroid_fraction=SEISMIC["centroid_fraction"],
        summary_energy=SEISMIC["summary_energy"], num_threads=threads)
    return index, time.perf_counter() - t0


def seismic_string() -> Any:
    import seismic

    return seismic.get_seismic_string()


def seismic_query(vector: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    import seismic

    return (np.array(list(vector), dtype=seismic.get_seismic_string()),
            np.array(list(vector.values()), dtype=np.float32))


def time_each(fn, items: list, warmup: int = 20) -> tuple[list[float], list[Any]]:
    for item in items[:warmup]:
        fn(item)
    times, outs = [], []
    for item in items:
        t0 = time.perf_counter()
        outs.append(fn(item))
        times.append(ms(time.perf_counter() - t0))
    return times, outs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sample corpus, 200 queries, scales 1,4 (~1 min)")
    parser.add_argument("--collection", help="SPLADE-tiny JsonVectorCollection folder to reuse")
    parser.add_argument("--corpus", help="products JSONL to encode when no collection is given")
    parser.add_argument("--queries", type=int, help="queries timed (default 1000; quick 200)")
    parser.add_argument("--scales", help="corpus replication factors (default 1,4; quick 1,4; 16 = 875k docs "
                                         "takes ~25 min here, mostly the Seismic build)")
    parser.add_argument("--scale-queries", type=int, default=300, help="queries timed at scales above the first")
    parser.add_argument("--terms", default="8,16,32,all", help="query term cuts compared at 1x")
    parser.add_argument("--threads", type=int, default=2, help="threads for batch mode and index building")
    parser.add_argument("--query-threads", type=int, default=1, help="torch threads for single-query encoding")
    parser.add_argument("--recall-queries", type=int, default=300, help="queries scored exactly for recall")
    args = parser.parse_args()

    from prosper_pyserini.java import ensure_jvm

    ensure_jvm()
    from pyserini.search.lucene import LuceneImpactSearcher, LuceneSearcher

    from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, TermWeights
    from prosper_pyserini.encode.queries import encode_queries
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.search.bm25 import DEFAULT_B, DEFAULT_K1
    from prosper_pyserini.search.exact import ExactScorer
    from prosper_pyserini.search.impact import ProsperQueryEncoder

    torch.set_num_threads(args.threads)
    n_queries = args.queries or (200 if args.quick else 1000)
    scales = [int(s) for s in (args.scales or "1,4").split(",")]
    cuts = [None if t == "all" else int(t) for t in args.terms.split(",")]
    payload: dict[str, Any] = {"command": _common.command_line(), "machine": _common.machine(),
                               "seismic_params": SEISMIC, "bm25": {"k1": DEFAULT_K1, "b": DEFAULT_B}}
    encoder = load_encoder("splade-tiny")
    weights = TermWeights(encoder.vocab_terms)
    texts, source = load_queries(n_queries)
    payload["queries"] = {"n": n_queries, "source": source}
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    rows, term_rows, batch_rows, builds = [], [], [], []
    try:
        collection = prepare_collection(args, encoder, work)
        payload["collection"] = str(collection)
        base = ExactScorer(collection)
        payload["products"] = len(base.docids)

        # single-query encode latency (the model alone, batch 1), then vectors for every term cut
        torch.set_num_threads(args.query_threads)
        enc_ms, _ = time_each(lambda t: encode_queries(encoder, {0: t}, top_k=DEFAULT_QUERY_TOP_K, weights=weights,
                                                       batch_size=1, progress=False)[0], texts)
        torch.set_num_threads(args.threads)
        payload["encode_single_ms"] = _common.percentiles(enc_ms)
        # batch encoding (timed once), then every term cut from the same weights
        t0 = time.perf_counter()
        vectors = {DEFAULT_QUERY_TOP_K: encode_queries(encoder, dict(enumerate(texts)), top_k=DEFAULT_QUERY_TOP_K,
                                                       weights=weights, batch_size=64, progress=False)}
        batch_encode_s = time.perf_counter() - t0
        with torch.inference_mode():
            dense = torch.cat([encoder.encode(texts[i:i + 64], side="query", batch_size=64)
                               for i in range(0, len(texts), 64)])
        for cut in cuts:
            vectors[cut] = dict(enumerate(weights.int_vectors(dense, top_k=cut)))
        del dense
        payload["query_terms_mean"] = {str(c): round(float(np.mean([len(v) for v in vs.values()])), 2)
                                       for c, vs in vectors.items()}
        n_recall = min(args.recall_queries, n_queries)

        for r in scales:
            vec_dir, txt_dir = work / f"x{r}" / "vectors", work / f"x{r}" / "text"
            n_docs = replicate(collection, r, vec_dir, txt_dir)
            built = build_indexes(vec_dir, txt_dir, work / f"x{r}", args.threads)
            sindex, s_build = build_seismic(vec_dir, args.threads)
            built["seismic"] = {"build_s": round(s_build, 2)}
            exact = Exact(base, r)
            builds.append({"scale": r, "docs": n_docs, **{f"{k}_build_s": v["build_s"] for k, v in built.items()},
                           "max_rss_mb_python": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
            print(builds[-1], flush=True)
            impact = LuceneImpactSearcher(built["impact"]["path"], query_encoder=ProsperQueryEncoder(
                vectors={}), min_idf=-1)
            bm25 = LuceneSearcher(built["bm25"]["path"])
            bm25.set_bm25(DEFAULT_K1, DEFAULT_B)
            nq = n_queries if r == scales[0] else min(n_queries, args.scale_queries)
            for cut in (cuts if r == scales[0] else [DEFAULT_QUERY_TOP_K]):
                qv = [vectors[cut][i] for i in range(n_queries)]
                impact.query_encoder.cache = {t: v for t, v in zip(texts, qv)}
                for k in (1000, 10):
                    systems = {
                        "impact": lambda i: [h.docid for h in impact.search(texts[i], k=k)],
                        "seismic": lambda i: [h[2] for h in sindex.search(
                            str(i), *seismic_query(qv[i]), k=k, query_cut=max(len(qv[i]), 1),
                            heap_factor=SEISMIC["heap_factor"])] if qv[i] else [],
                    }
                    if cut == DEFAULT_QUERY_TOP_K:  # the same search without reading the hits back
                        systems["impact-no-hit-read"] = lambda i: (impact.search(texts[i], k=k), None)[1]
                        systems["bm25"] = lambda i: [h.docid for h in bm25.search(texts[i], k=k)]
                    for name, fn in systems.items():
                        search_ms, results = time_each(fn, list(range(nq)))
                        recalls = [exact.recall(qv[i], results[i], k) for i in range(min(n_recall, nq))
                                   if results[i] is not None]
                        recalls = [x for x in recalls if x is not None]
                        total = [e + s for e, s in zip(enc_ms, search_ms)] if name != "bm25" else search_ms
                        row = {"scale": r, "docs": n_docs, "system": name, "k": k, "queries": nq,
                               "query_terms": "all" if cut is None else cut,
                               "search_p50_ms": _common.percentiles(search_ms)["p50"],
                               **{f"total_{p}_ms": v for p, v in _common.percentiles(total).items()
                                  if p in ("p50", "p95", "p99", "mean")},
                               "recall_at_k_vs_exact": round(float(np.mean(recalls)), 4) if recalls else None}
                        (rows if cut == DEFAULT_QUERY_TOP_K else term_rows).append(row)
                        if cut == DEFAULT_QUERY_TOP_K and r == scales[0] and name in ("impact", "seismic"):
                            term_rows.append(row)
                        print(row, flush=True)
                    if cut == DEFAULT_QUERY_TOP_K:  # batch mode: encode in batches, search on --threads threads
                        qids = [str(i) for i in range(nq)]
                        b_imp = _common.best_of(lambda: impact.batch_search(texts[:nq], qids, k=k, threads=args.threads), 1)
                        b_bm = _common.best_of(lambda: bm25.batch_search(texts[:nq], qids, k=k, threads=args.threads), 1)
                        comps = [seismic_query(v) if v else seismic_query({"[PAD]": 0}) for v in qv[:nq]]
                        b_sei = _common.best_of(lambda: sindex.batch_search(
                            np.array(qids, dtype=seismic_string()), [c[0] for c in comps], [c[1] for c in comps],
                            k=k, query_cut=max(len(c[0]) for c in comps), heap_factor=SEISMIC["heap_factor"], num_threads=args.threads), 1)
                        for name, secs, enc in (("impact", b_imp, batch_encode_s), ("bm25", b_bm, 0.0),
                                                ("seismic", b_sei, batch_encode_s)):
                            batch_rows.append({"scale": r, "system": name, "k": k, "threads": args.threads,
                                               "encode_ms_per_query": round(ms(enc) / n_queries, 3),
                                               "search_ms_per_query": round(ms(secs) / nq, 3),
                                               "queries_per_s": round(1 / (enc / n_queries + secs / nq), 1)})
                            print(batch_rows[-1], flush=True)
            impact.close()
            bm25.close()
            del sindex
            shutil.rmtree(work / f"x{r}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    target = next((row for row in rows if row["scale"] == 1 and row["system"] == "impact" and row["k"] == 10), None)
    payload.update(builds=builds, single=rows, terms=term_rows, batch=batch_rows,
                   target={"p50_total_ms_le_10_impact_k10_1x": target and target["total_p50_ms"] <= 10,
                           "note": "encode on --query-threads torch threads + Lucene on 1 thread; products "
                                   f"{payload['products']}"})
    cols = ["scale", "docs", "system", "k", "query_terms", "search_p50_ms", "total_p50_ms", "total_p95_ms",
            "total_p99_ms", "recall_at_k_vs_exact"]
    _common.finish("query_latency" + ("-quick" if args.quick else ""), payload, {
        f"Single query (encode p50 {payload['encode_single_ms']['p50']} ms on {args.query_threads} thread(s))":
            _common.markdown_table(rows, cols),
        "Query terms (1x)": _common.markdown_table(term_rows, cols),
        f"Batch mode ({args.threads} threads)": _common.markdown_table(batch_rows),
        "Index builds": _common.markdown_table(builds)})


if __name__ == "__main__":
    main()
