"""Dense path: prosper-encode (dense model) → FAISS IndexFlatIP → prosper-search --system dense, checked by numpy."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from support import PRODUCTS, QUERIES, cached_load_model, patch_cli_loader, splade_tiny_path

from prosper_pyserini.data.formats import read_queries, read_run
from prosper_pyserini.encode.cli import main as encode_main
from prosper_pyserini.search.cli import main as search_main


def test_dense_index_and_search_are_exact_inner_product(tmp_path, monkeypatch):
    patch_cli_loader(monkeypatch)
    model = "dense:" + splade_tiny_path()
    runner = CliRunner()
    built = runner.invoke(encode_main, ["--corpus", str(PRODUCTS), "--model", model, "--output", str(tmp_path / "faiss")])
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (tmp_path / "faiss").iterdir()) == ["docids.txt", "index.faiss", "summary.json"]
    summary = json.loads((tmp_path / "faiss" / "summary.json").read_text())
    assert summary["products_indexed"] == 300 and summary["dimension"] == 128
    searched = runner.invoke(search_main, ["--system", "dense", "--model", model, "--index", str(tmp_path / "faiss"),
                                           "--queries", str(QUERIES), "--k", "10", "--name", "dense",
                                           "--output", str(tmp_path / "dense.trec")])
    assert searched.exit_code == 0, searched.output
    run = read_run(tmp_path / "dense.trec")

    encoder = cached_load_model(model)
    docs = [json.loads(line) for line in PRODUCTS.read_text().splitlines()]
    d = encoder.encode([x["title"] for x in docs], side="doc").numpy()
    queries = read_queries(QUERIES)
    q = encoder.encode(list(queries.values()), side="query").numpy()
    scores = q @ d.T
    for i, qid in enumerate(queries):
        expected = np.sort(scores[i])[::-1][:10]
        got = sorted(run[qid].values(), reverse=True)
        np.testing.assert_allclose(got, expected, atol=1e-5)  # written with 6 decimals
        ids = {x["id"]: j for j, x in enumerate(docs)}
        for docid, score in run[qid].items():
            assert abs(scores[i, ids[docid]] - score) < 1e-5


def test_dense_model_is_refused_for_impact_search(tmp_path, monkeypatch):
    patch_cli_loader(monkeypatch)
    (tmp_path / "segments_1").write_bytes(b"")  # passes for a Lucene index: the model is what is refused
    result = CliRunner().invoke(search_main, ["--system", "impact", "--model", "dense:" + splade_tiny_path(),
                                              "--index", str(tmp_path), "--queries", str(QUERIES)])
    assert result.exit_code == 2 and "dense model" in result.output
