"""prosper-export (issue 35): Milvus's embedded engine for real (milvus-lite 2.5), and bulk files checked
against their targets' limits; the Milvus run must equal exact scoring."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import PRODUCTS, QUERIES, patch_cli_loader, sparse_encoder, splade_tiny_path

from prosper_pyserini.data.formats import InputError, read_queries, read_run
from prosper_pyserini.encode.collection import encode_corpus
from prosper_pyserini.encode.queries import encode_queries
from prosper_pyserini.search.exact import exact_search

pytest.importorskip("pymilvus", reason="prosper-export milvus needs the milvus extra (make setup installs it)")

from prosper_pyserini.export.bulk import MAX_EXACT_FEATURE, write_bulk  # noqa: E402
from prosper_pyserini.export.milvus import (  # noqa: E402
    SEALED,
    MilvusError,
    _create,
    connect,
    load_collection,
    search_collection,
    term_ids,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    collection = root / "coll"
    encoder = sparse_encoder()
    encode_corpus(encoder, PRODUCTS, collection, model_name="splade-tiny", shard_size=128)
    topics = read_queries(QUERIES)
    return {"root": root, "collection": collection, "encoder": encoder, "ids": term_ids(encoder.vocab_terms),
            "checksum": str(encoder.checksum()), "queries": encode_queries(encoder, topics, top_k=None)}


def same_ranking(a: dict[str, float], b: dict[str, float]) -> bool:
    """The same scores in the same order and the same products above the last score (ties at the cut aside)."""
    scores_a, scores_b = sorted(a.values(), reverse=True), sorted(b.values(), reverse=True)
    if scores_a != scores_b:
        return False
    cut = scores_a[-1] if scores_a else 0
    return {d for d, s in a.items() if s > cut} == {d for d, s in b.items() if s > cut}


def test_milvus_returns_the_exact_products_and_scores(world, tmp_path):
    uri = str(tmp_path / "m.db")
    report = load_collection(world["collection"], uri, "hd", world["ids"], world["checksum"])
    assert report["products"] == 300 and not report["reused"]
    milvus = search_collection(uri, "hd", world["queries"], world["ids"], k=100, model_checksum=world["checksum"])
    exact = exact_search(str(world["collection"]), world["queries"], k=100)
    assert set(milvus) == set(exact)
    assert all(same_ranking(milvus[q], {d: float(s) for d, s in exact[q].items()}) for q in exact)
    assert sum(len(r) for r in milvus.values()) > 500
    # the same vectors again: nothing to do
    assert load_collection(world["collection"], uri, "hd", world["ids"], world["checksum"])["reused"]


def test_a_collection_is_never_mixed_or_searched_half_loaded(world, tmp_path):
    uri = str(tmp_path / "m.db")
    load_collection(world["collection"], uri, "hd", world["ids"], world["checksum"])
    other = tmp_path / "other"
    shutil.copytree(world["collection"], other)
    for kind in ("settings", "summary"):
        shutil.copy(world["collection"].with_name(f"coll.{kind}.json"), tmp_path / f"other.{kind}.json")
    part = other / "part-00000.jsonl"
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:-1]))   # other vectors: the seal no longer matches
    with pytest.raises(InputError, match="since prosper-encode sealed the collection"):
        load_collection(other, uri, "hd", world["ids"], world["checksum"])
    with pytest.raises(MilvusError, match="was encoded by another model"):
        load_collection(world["collection"], uri, "x", world["ids"], "0" * 64)
    with pytest.raises(MilvusError, match="holds another model's vectors"):
        search_collection(uri, "hd", world["queries"], world["ids"], k=10, model_checksum="0" * 64)
    # an interrupted load leaves rows but no seal: not searchable, dropped and loaded again by the next load
    client = connect(uri)
    _create(client, "half")
    client.insert("half", [{"id": "x", "vec": {1: 1.0}}])
    with pytest.raises(MilvusError, match="'half' is not a finished prosper-export load"):
        search_collection(uri, "half", world["queries"], world["ids"], k=10)
    assert not load_collection(world["collection"], uri, "half", world["ids"], world["checksum"])["reused"]
    assert "half" + SEALED in client.list_collections()
    assert "x" not in search_collection(uri, "half", {"q": {"drill": 1}}, world["ids"], k=300)["q"]
    with pytest.raises(MilvusError, match="no collection 'none'"):
        search_collection(uri, "none", world["queries"], world["ids"], k=10)
    # a collection of the same name made by someone else is refused, then replaced only when asked
    client.create_collection("theirs", dimension=2)
    with pytest.raises(MilvusError, match="already exists .not loaded by prosper-export."):
        load_collection(world["collection"], uri, "theirs", world["ids"], world["checksum"])
    load_collection(world["collection"], uri, "theirs", world["ids"], world["checksum"], replace=True)
    assert search_collection(uri, "theirs", world["queries"], world["ids"], k=5)


def test_an_unreachable_cluster_fails_fast_with_one_line():
    start = time.monotonic()
    with pytest.raises(MilvusError, match=r"http://127.0.0.1:9: cannot reach Milvus"):
        connect("http://127.0.0.1:9")
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("target", ["milvus-bulk", "opensearch", "elasticsearch"])
def test_bulk_files_follow_their_target_schema(world, tmp_path, target):
    out = tmp_path / target
    summary = write_bulk(world["collection"], out, target, "hd", world["ids"], "ids")
    assert summary["documents"] == 300 and summary["model_checksum"] == world["checksum"]
    docs: dict[str, dict[str, float]] = {}
    for name in summary["files"]:
        text = (out / name).read_text(encoding="utf-8")
        if target == "milvus-bulk":
            rows = json.loads(text)
            docs.update({row["id"]: row["vec"] for row in rows})
        else:
            lines = text.splitlines()
            assert len(lines) % 2 == 0
            for action, doc in zip(lines[::2], lines[1::2]):
                meta = json.loads(action)["index"]
                assert meta["_index"] == "hd"
                docs[meta["_id"]] = json.loads(doc)["vec"]
    from prosper_pyserini.encode.parts import read_vectors

    expected = dict(read_vectors(world["collection"]))
    assert docs.keys() == expected.keys()
    for doc_id, vector in expected.items():
        assert docs[doc_id] == {str(world["ids"][t]): float(w) for t, w in vector.items()}
    assert all(isinstance(k, str) and k.isdigit() for v in docs.values() for k in v)
    mapping = json.loads((out / "mapping.json").read_text())
    assert (mapping["collection"] if target == "milvus-bulk" else mapping["index"]) == "hd"


def test_bulk_refuses_what_a_target_would_round_or_reject(world, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(world["collection"], bad)
    for kind in ("settings", "summary"):
        shutil.copy(world["collection"].with_name(f"coll.{kind}.json"), tmp_path / f"bad.{kind}.json")
    # rewrite one product with an impact the 9-bit features cannot hold, and re-seal it as prosper-encode would
    part = bad / "part-00000.jsonl"
    lines = part.read_text().splitlines(keepends=True)
    row = json.loads(lines[1])
    term = next(iter(row["vector"]))
    row["vector"][term] = MAX_EXACT_FEATURE + 1
    lines[1] = json.dumps(row, ensure_ascii=False) + "\n"
    part.write_text("".join(lines))
    from prosper_pyserini.checksums import sha256_file

    summary_path = tmp_path / "bad.summary.json"
    summary = json.loads(summary_path.read_text())
    summary["part_records"]["part-00000.jsonl"]["sha256"] = sha256_file(part)
    summary_path.write_text(json.dumps(summary))
    with pytest.raises(InputError, match=rf"part-00000.jsonl:2: impact 513 of '{re.escape(term)}' keeps only 9 "
                                         "significant bits"):
        write_bulk(bad, tmp_path / "os", "opensearch", "hd", world["ids"])
    assert not (tmp_path / "os").exists()   # nothing half-written
    write_bulk(bad, tmp_path / "mv", "milvus-bulk", "hd", world["ids"])   # float32 holds it
    with pytest.raises(InputError, match="key '.' holds a dot, which an Elasticsearch sparse_vector key may not"):
        write_bulk(world["collection"], tmp_path / "es", "elasticsearch", "hd", world["ids"], "tokens")
    write_bulk(world["collection"], tmp_path / "os-tokens", "opensearch", "hd", world["ids"], "tokens")


def test_cli_export_then_search_equals_exact(world, tmp_path, monkeypatch):
    from prosper_pyserini.export.cli import main as export
    from prosper_pyserini.search.cli import main as search

    patch_cli_loader(monkeypatch)
    import prosper_pyserini.export.cli  # noqa: F401  (its _model uses encode.cli.load_model, patched above)

    uri = str(tmp_path / "m.db")
    runner = CliRunner()
    res = runner.invoke(export, ["milvus", "--input", str(world["collection"]), "--uri", uri, "--collection", "hd",
                                 "--model", splade_tiny_path()])
    assert res.exit_code == 0 and "loaded 300 products" in res.output, res.output
    args = ["--queries", str(QUERIES), "--model", splade_tiny_path(), "--query-top-k", "0", "--k", "50"]
    res = runner.invoke(search, ["--system", "milvus", "--uri", uri, "--collection", "hd", *args,
                                 "--output", str(tmp_path / "milvus.trec")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(search, ["--system", "exact", "--index", str(world["collection"]), *args,
                                 "--output", str(tmp_path / "exact.trec")])
    assert res.exit_code == 0, res.output
    milvus, exact = read_run(tmp_path / "milvus.trec"), read_run(tmp_path / "exact.trec")
    assert set(milvus) == set(exact) and all(same_ranking(milvus[q], exact[q]) for q in exact)
    res = runner.invoke(export, ["milvus", "--input", str(world["collection"]), "--uri", "http://127.0.0.1:9",
                                 "--collection", "hd", "--model", splade_tiny_path()])
    assert res.exit_code == 1 and res.output.strip().splitlines()[-1].startswith(
        "prosper-export: error: http://127.0.0.1:9: cannot reach Milvus"), res.output


def test_a_milvus_row_in_the_matrix_equals_the_lucene_row(tmp_path):
    """``engine: milvus`` in eval/sample.yaml: the same collection served by Milvus scores as Lucene does; a
    Milvus file that no longer holds the load is loaded again, not trusted from the step's record."""
    import yaml

    from prosper_pyserini.experiment.cli import main

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "eval" / "sample.yaml").read_text())
    config.update(work_dir=str(tmp_path / "work"), runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "rep"))
    config["systems"] = [s for s in config["systems"] if s["name"] in ("bm25", "splade-tiny-zs", "splade-tiny-zs-milvus")]
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    first = CliRunner().invoke(main, ["--config", str(path), "--verify"])
    assert first.exit_code == 0, first.output
    results = json.loads((tmp_path / "rep" / "results.json").read_text())["results"]
    assert results["splade-tiny-zs-milvus"] == results["splade-tiny-zs"]
    uri = str(tmp_path / "work" / "milvus" / "splade-tiny-zs-milvus.db")
    connect(uri).drop_collection("splade_tiny_zs_milvus" + SEALED)   # the file no longer holds a finished load
    second = CliRunner().invoke(main, ["--config", str(path)])
    assert second.exit_code == 0, second.output
    assert "splade_tiny_zs_milvus" + SEALED in connect(uri).list_collections()
    assert json.loads((tmp_path / "rep" / "results.json").read_text())["results"] == results
