"""Encode the catalogue and score dev queries exactly, all on the GPU (no collection files): quantized as prosper-encode."""
import gzip, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import torch
from prosper_pyserini.data.formats import read_corpus, read_queries, write_run
from prosper_pyserini.encode.quantize import TermWeights
from prosper_pyserini.model import load_encoder
from prosper_pyserini.search.exact import top_k

T, OUT = Path(sys.argv[1]), Path(sys.argv[2])
docs = list(read_corpus(T / "data/corpus/products.jsonl"))
ids = [d.id for d in docs]
topics = read_queries(T / "data/queries.dev.tsv")
qids = list(topics)
result = {}
for name in sys.argv[3:]:
    t0 = time.time()
    enc = load_encoder(T / "full" / name / "best")
    tw = TermWeights(enc.vocab_terms, 100.0)
    idx = tw.term_of_id.cuda()
    nt = len(tw.terms)

    def merged(w):
        w = w.float()
        return torch.full((w.shape[0], nt), float("-inf"), device="cuda").scatter_reduce(1, idx.expand_as(w), w, "amax", include_self=True)

    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        D = torch.cat([torch.round(merged(enc.represent(enc.tokenize([d.text for d in docs[i:i + 512]]), "doc")).double() * 100).clamp(min=0)
                       for i in range(0, len(docs), 512)])
        Q = torch.zeros(len(qids), nt, dtype=torch.float64, device="cuda")
        for i in range(0, len(qids), 512):
            m = merged(enc.represent(enc.tokenize([topics[q] for q in qids[i:i + 512]]), "query"))
            _, order = torch.sort(m, dim=1, descending=True, stable=True)
            cols = order[:, :16]
            vals = torch.round(m.gather(1, cols).double() * 100).clamp(min=0)
            Q[i:i + len(cols)].scatter_(1, cols, vals)
    torch.cuda.synchronize()
    t1 = time.time()
    S = (D @ Q.T).round().long().cpu().numpy()
    run = {q: {d: float(s) for d, s in top_k(S[:, j], ids, 1000)} for j, q in enumerate(qids)}
    write_run(run, T / f"{name}.trec", tag=name)
    with open(T / f"{name}.trec", "rb") as src, gzip.open(OUT / f"{name}.trec.gz", "wb") as dst:
        dst.write(src.read())
    pd, pq = (D > 0).double().mean(0), (Q > 0).double().mean(0)
    result[name] = {"encode_s": round(t1 - t0, 1), "score_s": round(time.time() - t1, 1),
                    "sparsity": {"products": len(ids), "queries": len(qids),
                                 "avg_terms_per_product": round(float((D > 0).sum(1).double().mean()), 2),
                                 "avg_terms_per_query": round(float((Q > 0).sum(1).double().mean()), 2),
                                 "flops": round(float((pd * pq).sum()), 4)}}
    print(name, result[name], flush=True)
    del D, Q
    torch.cuda.empty_cache()
(OUT / "scored.json").write_text(json.dumps(result, indent=2))
