"""encode → Lucene impact index → search, end to end on real SPLADE-tiny weights, checked against exact scoring."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from support import (
    PRODUCTS,
    QUERIES,
    java_with_incubator,
    patch_cli_loader,
    sparse_encoder,
    splade_tiny_path,
)

from prosper_pyserini.data.formats import InputError, read_queries, read_run
from prosper_pyserini.encode.collection import encode_corpus
from prosper_pyserini.encode.quantize import TermWeights
from prosper_pyserini.index.lucene import IndexCountError, run_indexer
from prosper_pyserini.search.exact import ExactScorer

IMPACT_FLAGS = ["--collection", "JsonVectorCollection", "--generator", "DefaultLuceneDocumentGenerator",
                "--threads", "1", "--impact", "--pretokenized"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("impact")
    collection, index = root / "coll", root / "index"
    encode_corpus(sparse_encoder(), PRODUCTS, collection, model_name="splade-tiny", shard_size=128)
    counters = run_indexer([*IMPACT_FLAGS, "--input", str(collection), "--index", str(index)])
    return {"root": root, "collection": collection, "index": index, "counters": counters,
            "queries": read_queries(QUERIES)}


def test_index_counts_every_product(built):
    c = built["counters"]
    assert (c.indexed, c.expected, c.empty, c.errors) == (300, 300, 0, 0)


def test_lucene_top10_equals_exact_scoring(built):
    from prosper_pyserini.search.impact import ProsperQueryEncoder, impact_search

    query_encoder = ProsperQueryEncoder(sparse_encoder())
    run = impact_search(str(built["index"]), built["queries"], query_encoder, k=10)
    scorer = ExactScorer(built["collection"])
    docids = {d: i for i, d in enumerate(scorer.docids)}
    nonempty = 0
    for qid, text in built["queries"].items():
        vector = query_encoder.encode(text)
        assert 0 < len(vector) <= 16
        exact = scorer.scores(vector)
        lucene = sorted(run[qid].items(), key=lambda kv: -kv[1])
        # Lucene's scores are exact integers; every hit has its exact score, and the score list is the exact top-10
        assert all(score == int(score) for _, score in lucene)
        assert [int(s) for _, s in lucene] == sorted((int(s) for s in exact if s > 0), reverse=True)[:10]
        assert all(exact[docids[d]] == int(s) for d, s in lucene)
        nonempty += bool(lucene)
    assert nonempty == len(built["queries"])


def test_query_encoder_batches_and_cuts_to_top16(built):
    from prosper_pyserini.search.impact import ProsperQueryEncoder

    encoder = sparse_encoder()
    texts = list(built["queries"].values())
    primed = ProsperQueryEncoder(encoder)
    primed.prime(texts, progress=False)
    weights = TermWeights(encoder.vocab_terms)
    one_by_one = [weights.int_vectors(encoder.encode([t], side="query"), top_k=16)[0] for t in texts[:5]]
    assert [primed.encode(t) for t in texts[:5]] == one_by_one
    full = weights.int_vectors(encoder.encode(texts, side="query"))
    assert any(len(v) > 16 for v in full)  # the cut matters on these queries
    for text, vector in zip(texts, full):
        top = primed.encode(text)
        assert len(top) == min(16, len(vector)) and all(vector[t] == w for t, w in top.items())
        assert min(top.values()) >= sorted(vector.values(), reverse=True)[len(top) - 1]


def test_cli_impact_exact_and_pre_encoded_runs_agree(built, monkeypatch):
    from prosper_pyserini.encode.cli import main as encode_main
    from prosper_pyserini.search.cli import main as search_main

    patch_cli_loader(monkeypatch)
    root, model = built["root"], splade_tiny_path()
    runner = CliRunner()
    common = ["--queries", str(QUERIES), "--k", "10"]
    impact = runner.invoke(search_main, ["--system", "impact", "--model", model, "--index", str(built["index"]),
                                         "--output", str(root / "impact.trec"), "--name", "impact", *common])
    assert impact.exit_code == 0, impact.output
    exact = runner.invoke(search_main, ["--system", "exact", "--model", model, "--index", str(built["collection"]),
                                        "--output", str(root / "exact.trec"), "--name", "exact", *common])
    assert exact.exit_code == 0, exact.output
    encoded = runner.invoke(encode_main, ["--queries", str(QUERIES), "--model", model, "--output", str(root / "q.jsonl")])
    assert encoded.exit_code == 0, encoded.output
    cached = runner.invoke(search_main, ["--system", "impact", "--encoded-queries", str(root / "q.jsonl"),
                                         "--index", str(built["index"]), "--output", str(root / "cached.trec"), *common])
    assert cached.exit_code == 0, cached.output
    runs = {name: read_run(root / f"{name}.trec") for name in ("impact", "exact", "cached")}
    assert runs["impact"] == runs["cached"]
    for qid in built["queries"]:
        assert sorted(runs["impact"][qid].values()) == sorted(runs["exact"][qid].values())
    assert (root / "impact.trec").read_text().split("\n")[0].endswith(" impact")
    # Pyserini's flag names give the same run; --output-format msmarco writes qid, docid, rank in that order
    pyserini = runner.invoke(search_main, ["--impact", "--encoder", model, "--index", str(built["index"]),
                                           "--topics", str(QUERIES), "--hits", "10", "--min-idf", "-1",
                                           "--output-format", "msmarco", "--output", str(root / "impact.tsv")])
    assert pyserini.exit_code == 0, pyserini.output
    msmarco = read_run(root / "impact.tsv")
    impact_lines = (root / "impact.trec").read_text().splitlines()
    assert [line.split("\t") for line in (root / "impact.tsv").read_text().splitlines()] == \
        [[q, d, r] for q, _, d, r, _, _ in (line.split() for line in impact_lines)]
    assert {q: list(r) for q, r in msmarco.items()} == {q: list(r) for q, r in runs["impact"].items()}
    clash = runner.invoke(search_main, ["--impact", "--system", "bm25", "--index", str(built["index"]), *common])
    assert clash.exit_code == 2 and "--impact and --system bm25 disagree" in clash.output


def test_indexer_rejects_empty_vectors(tmp_path):
    coll = tmp_path / "coll"
    coll.mkdir()
    (coll / "part-00000.jsonl").write_text(
        json.dumps({"id": "a", "contents": "x", "vector": {"drill": 3}}) + "\n"
        + json.dumps({"id": "b", "contents": "y", "vector": {}}) + "\n")
    with pytest.raises(IndexCountError, match='"empty": 1'):
        run_indexer([*IMPACT_FLAGS, "--input", str(coll), "--index", str(tmp_path / "index")])


def test_indexer_counts_files_anserini_cannot_parse(tmp_path):
    """JsonVectorCollection reads every file under -input; an unparsable one is dropped whole, silently."""
    coll = tmp_path / "coll"
    coll.mkdir()
    (coll / "part-00000.jsonl").write_text(json.dumps({"id": "a", "contents": "x", "vector": {"drill": 3}}) + "\n")
    (coll / "notes.yaml").write_text("model: splade-tiny\n")
    with pytest.raises(InputError, match="notes.yaml:1: malformed JSON"):  # named before Anserini drops it
        run_indexer([*IMPACT_FLAGS, "--input", str(coll), "--index", str(tmp_path / "index")])
    assert not (tmp_path / "index").exists()


def test_quantized_ranking_agrees_with_float_ranking(built):
    """Scale 100 loses no measurable ranking quality: float vs quantized top-10 on every query."""
    encoder = sparse_encoder()
    weights = TermWeights(encoder.vocab_terms)
    docs = [json.loads(line) for line in PRODUCTS.read_text().splitlines()]
    d_float = weights.merge(encoder.encode([d["title"] for d in docs], side="doc"))
    q_text = list(built["queries"].values())
    q_float = weights.merge(encoder.encode(q_text, side="query"))
    q_cut = torch.zeros_like(q_float)
    top = q_float.topk(16, dim=1)
    q_cut.scatter_(1, top.indices, top.values)
    float_scores = q_cut @ d_float.T
    scorer = ExactScorer(built["collection"])
    assert scorer.docids == [d["id"] for d in docs]
    overlaps = []
    for i, text in enumerate(q_text):
        vector = weights.int_vectors(q_float[i : i + 1], top_k=16)[0]
        quant = torch.tensor(scorer.scores(vector), dtype=torch.float64)
        f_top = set(float_scores[i].topk(10).indices.tolist())
        q_top = set(quant.topk(10).indices.tolist())
        overlaps.append(len(f_top & q_top) / 10)
    assert sum(overlaps) / len(overlaps) >= 0.95, overlaps


@pytest.mark.skipif(java_with_incubator() is None, reason="no JDK 21+ with jdk.incubator.vector installed")
def test_stock_pyserini_indexes_the_same_files(built, tmp_path):
    env = {**os.environ, "JAVA_HOME": java_with_incubator(), "OPENAI_API_KEY": "unused"}
    stock = tmp_path / "stock-index"
    cmd = [sys.executable, "-m", "pyserini.index.lucene", *IMPACT_FLAGS, "--input", str(built["collection"]),
           "--index", str(stock)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from pyserini.index.lucene import LuceneIndexReader

    ours, theirs = LuceneIndexReader(str(built["index"])), LuceneIndexReader(str(stock))
    assert theirs.stats()["documents"] == ours.stats()["documents"] == 300
    assert theirs.stats()["unique_terms"] == ours.stats()["unique_terms"]
    assert theirs.stats()["total_terms"] == ours.stats()["total_terms"]


def test_prosper_pyserini_runs_the_stock_modules_with_a_checkpoint_as_encoder(built, tmp_path):
    """`prosper-pyserini index.lucene` builds the index ours builds; `search.lucene --impact --encoder CKPT`
    gives prosper-search's run -- the unchanged Pyserini modules, on our JVM."""
    from pyserini.index.lucene import LuceneIndexReader

    from prosper_pyserini.pyserini_cli import main as pyserini_main
    from prosper_pyserini.search.cli import main as search_main

    checkpoint = tmp_path / "ckpt"
    sparse_encoder().save_pretrained(checkpoint)
    stock = tmp_path / "stock-index"
    pyserini_main(["index.lucene", *IMPACT_FLAGS, "--input", str(built["collection"]), "--index", str(stock)])
    assert LuceneIndexReader(str(stock)).stats() == LuceneIndexReader(str(built["index"])).stats()
    pyserini_main(["search.lucene", "--index", str(stock), "--topics", str(QUERIES), "--impact", "--encoder",
                   str(checkpoint), "--min-idf", "-1", "--hits", "10", "--output", str(tmp_path / "stock.trec")])
    ours = CliRunner().invoke(search_main, ["--impact", "--encoder", str(checkpoint), "--index", str(built["index"]),
                                            "--topics", str(QUERIES), "--hits", "10", "--output", str(tmp_path / "ours.trec")])
    assert ours.exit_code == 0, ours.output
    theirs, mine = read_run(tmp_path / "stock.trec"), read_run(tmp_path / "ours.trec")
    assert theirs.keys() == mine.keys() == built["queries"].keys()
    for qid in mine:   # same scores; the same products above the 10th score (ties at the cut may differ)
        assert sorted(theirs[qid].values()) == sorted(mine[qid].values())
        tenth = min(mine[qid].values())
        assert {d for d, s in theirs[qid].items() if s > tenth} == {d for d, s in mine[qid].items() if s > tenth}


def test_encode_and_score_equals_collection_then_exact_search(built):
    """The no-files path (GPU on the device) gives the run and sparsity of encode → collection → exact search."""
    from prosper_pyserini.data.formats import read_corpus
    from prosper_pyserini.encode.collection import read_vectors
    from prosper_pyserini.encode.queries import encode_queries
    from prosper_pyserini.eval.sparsity import sparsity_stats
    from prosper_pyserini.search.exact import encode_and_score

    encoder = sparse_encoder()
    docs = list(read_corpus(PRODUCTS))
    run, sparsity = encode_and_score(encoder, docs, built["queries"], k=30, batch_size=64)
    vectors = encode_queries(encoder, built["queries"], progress=False)
    scorer = ExactScorer(built["collection"])
    for qid, vector in vectors.items():
        assert list(run[qid].items()) == [(d, float(s)) for d, s in scorer.search(vector, 30)]
    expected = sparsity_stats((v for _, v in read_vectors(built["collection"])), vectors.values())
    assert sparsity == pytest.approx(expected, abs=1e-4)


def test_queries_longer_than_lucenes_clause_limit_are_searched_exactly(built):
    """SPLADE-v2 on a dense-start backbone gives queries thousands of terms; Lucene's default limit is 1,024."""
    from prosper_pyserini.search.impact import ProsperQueryEncoder, impact_search

    scorer = ExactScorer(built["collection"])
    qid, text = next(iter(built["queries"].items()))
    vector = dict(ProsperQueryEncoder(sparse_encoder()).encode(text))
    # every indexed term (Anserini skips terms absent from the index, so those would not count)
    vector.update({t: 1 for t in scorer.term_index if t not in vector})
    run = impact_search(str(built["index"]), {qid: text}, ProsperQueryEncoder(vectors={text: vector}), k=10)
    exact = sorted((int(s) for s in scorer.scores(vector) if s > 0), reverse=True)[:10]
    assert len(vector) > 2000
    assert sorted((int(s) for s in run[qid].values()), reverse=True) == exact
