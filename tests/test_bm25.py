"""BM25 on a real Lucene index built in-process through our JVM start."""

import json

import pytest

from prosper_pyserini.data.formats import read_run
from prosper_pyserini.index.lucene import IndexCountError, count_documents, normalise_flags, run_indexer
from prosper_pyserini.search.bm25 import bm25_search

PRODUCTS = {
    "100": "DEWALT 20V MAX Cordless Drill/Driver Kit DCD771C2",
    "101": "Milwaukee M18 Cordless Hammer Drill 2804-20",
    "102": "BEHR Premium Plus Interior Eggshell Paint 1 gal.",
    "103": "Delta Vero Single-Handle Shower Faucet Trim in Chrome",
    "104": "Husky 26 in. 5-Drawer Tool Chest",
}


def build_collection(folder, products):
    folder.mkdir(parents=True)
    with open(folder / "docs.jsonl", "w") as out:
        for pid, title in products.items():
            out.write(json.dumps({"id": pid, "contents": title}) + "\n")
    return folder


def bm25_flags(collection, index):
    return ["--collection", "JsonCollection", "--input", str(collection), "--index", str(index),
            "--generator", "DefaultLuceneDocumentGenerator", "--threads", "1", "--storePositions",
            "--storeDocvectors", "--storeRaw"]


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("bm25")
    collection = build_collection(root / "corpus", PRODUCTS)
    counters = run_indexer(bm25_flags(collection, root / "index"))
    assert (counters.indexed, counters.expected, counters.errors) == (5, 5, 0)
    return root / "index"


def test_flags_are_pyserini_style():
    assert normalise_flags(["--input", "x", "-index", "y"]) == ["-input", "x", "-index", "y"]


def test_bm25_ranks_the_matching_products_first(bm25_index):
    run = bm25_search(str(bm25_index), {"q1": "cordless drill", "q2": "dcd771c2", "q3": "zzzz"}, k=10)
    assert list(run["q1"])[:2] and set(sorted(run["q1"], key=run["q1"].get, reverse=True)[:2]) == {"100", "101"}
    assert max(run["q2"], key=run["q2"].get) == "100"
    assert run["q3"] == {}  # no hit is an empty ranking, not a missing query


def test_search_cli_writes_a_trec_run(bm25_index, tmp_path):
    from click.testing import CliRunner

    from prosper_pyserini.search.cli import main

    (tmp_path / "q.tsv").write_text("q1\tshower faucet\n")
    out = tmp_path / "runs" / "bm25.trec"
    result = CliRunner().invoke(main, ["--index", str(bm25_index), "--queries", str(tmp_path / "q.tsv"),
                                       "--output", str(out), "--name", "bm25", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert max(read_run(out)["q1"].items(), key=lambda kv: kv[1])[0] == "103"
    assert out.read_text().split("\n")[0].endswith(" bm25")


def test_empty_document_makes_indexing_fail(tmp_path):
    collection = build_collection(tmp_path / "corpus", {"1": "Drill", "2": ""})
    assert count_documents(collection) == 2
    with pytest.raises(IndexCountError, match="counters do not match"):
        run_indexer(bm25_flags(collection, tmp_path / "index"))
