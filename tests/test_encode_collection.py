"""prosper-encode on real SPLADE-tiny weights: outputs, bad input, sharding, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import PRODUCTS, QUERIES, patch_cli_loader, splade_tiny_path

from prosper_pyserini.encode.cli import main
from prosper_pyserini.encode.collection import read_vectors

CORPUS_IDS = [json.loads(line)["id"] for line in PRODUCTS.read_text().splitlines()]


@pytest.fixture(autouse=True)
def _loader(monkeypatch):
    patch_cli_loader(monkeypatch)


def encode(*args: str):
    return CliRunner().invoke(main, ["--model", splade_tiny_path(), *args], catch_exceptions=False)


def test_encode_writes_collection_and_summary(tmp_path):
    out = tmp_path / "coll"
    result = encode("--corpus", str(PRODUCTS), "--output", str(out), "--shard-size", "128")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coll", "coll.settings.json", "coll.summary.json"]
    vectors = dict(read_vectors(out))
    assert list(vectors) == CORPUS_IDS
    for vector in vectors.values():
        assert vector and all(isinstance(w, int) and w > 0 for w in vector.values())
        assert all(term and not any(ch.isspace() for ch in term) for term in vector)
    summary = json.loads((tmp_path / "coll.summary.json").read_text())
    assert summary["products_indexed"] == 300 and summary["parts"] == 3 and summary["scale"] == 100
    assert summary["model_checksum"] == __import__("support").sparse_encoder().checksum()
    assert summary["avg_terms_per_product"] == pytest.approx(sum(map(len, vectors.values())) / 300, abs=1e-3)
    first = json.loads((out / "part-00000.jsonl").read_text().splitlines()[0])
    assert set(first) == {"id", "contents", "vector"} and first["contents"].startswith("LG 8,000 BTU")


def test_encode_queries_top_k(tmp_path):
    out = tmp_path / "q.jsonl"
    result = encode("--queries", str(QUERIES), "--output", str(out), "--query-top-k", "5")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and all(1 <= len(r["vector"]) <= 5 for r in rows)


BAD = {
    "malformed": (b'{"id": "1", "title": "drill"}\n{"id": "2", "title": \n{"id": "3", "title": "saw"}\n', 2, "malformed JSON"),
    "missing-id": (b'{"id": "1", "title": "drill"}\n{"title": "saw"}\n{"id": "3", "title": "hammer"}\n', 2, "missing id"),
    "duplicate-id": (b'{"id": "1", "title": "drill"}\n{"id": "3", "title": "saw"}\n{"id": "1", "title": "hammer"}\n', 3,
                     "duplicate id"),
    "non-utf8": (b'{"id": "1", "title": "drill"}\n{"id": "2", "title": "caf\xe9 table"}\n{"id": "3", "title": "saw"}\n', 2,
                 "not UTF-8"),
    "empty-text": (b'{"id": "1", "title": "drill"}\n{"id": "2", "title": "  "}\n{"id": "3", "title": "saw"}\n', 2, "empty text"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_corpus_lines(tmp_path, case):
    data, line, reason = BAD[case]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(data)
    failed = encode("--corpus", str(corpus), "--output", str(tmp_path / "a"))
    assert failed.exit_code == 1
    assert f"{corpus}:{line}: {reason}" in failed.output
    assert not list((tmp_path / "a").glob("part-*"))  # nothing encoded from a corpus that fails validation
    skipped = encode("--corpus", str(corpus), "--output", str(tmp_path / "b"), "--skip-bad-lines")
    assert skipped.exit_code == 0, skipped.output
    summary = json.loads((tmp_path / "b.summary.json").read_text())
    assert summary["corpus_lines_skipped"] == 1 and summary["products_indexed"] == 2
    assert any(reason in r for r in summary["corpus_skip_reasons"])


def test_empty_vectors_fail_or_are_counted(tmp_path):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("1\tcordless drill\n2\twhite paint\n")
    failed = encode("--corpus", str(corpus), "--output", str(tmp_path / "a"), "--scale", "0.01")
    assert failed.exit_code == 1 and "encodes to an empty vector" in failed.output
    skipped = encode("--corpus", str(corpus), "--output", str(tmp_path / "b"), "--scale", "0.01", "--skip-bad-lines")
    summary = json.loads((tmp_path / "b.summary.json").read_text())
    assert summary["empty_vectors_skipped"] == 2 and summary["products_indexed"] == 0, skipped.output


def test_shards_from_two_workers_and_settings_guard(tmp_path):
    out = tmp_path / "coll"
    data = tmp_path / "data"  # a prepared dataset folder: --data DIR reads DIR/corpus/products.jsonl
    (data / "corpus").mkdir(parents=True)
    (data / "corpus" / "products.jsonl").write_bytes(PRODUCTS.read_bytes())
    first = encode("--data", str(data), "--output", str(out), "--shard-size", "100", "--shard", "1/2")
    assert first.exit_code == 0 and "still missing" in first.output
    assert [p.name for p in sorted(out.glob("part-*"))] == ["part-00001.jsonl"]
    assert not (tmp_path / "coll.summary.json").exists()
    other = encode("--corpus", str(PRODUCTS), "--output", str(out), "--shard-size", "50", "--shard", "0/2")
    assert other.exit_code == 1 and "other settings (shard_size)" in other.output
    (out / "notes.txt").write_text("Anserini would index this line\n")
    stray = encode("--corpus", str(PRODUCTS), "--output", str(out), "--shard-size", "100", "--shard", "0/2")
    assert stray.exit_code == 1 and "not parts of this collection (Anserini would index them): notes.txt" in stray.output
    assert [p.name for p in sorted(out.glob("part-*"))] == ["part-00001.jsonl"]  # refused before encoding
    (out / "notes.txt").unlink()
    second = encode("--corpus", str(PRODUCTS), "--output", str(out), "--shard-size", "100", "--shard", "0/2")
    assert second.exit_code == 0 and "complete: 300 products" in second.output
    assert "wrote 2 part(s)" in second.output
    assert [doc_id for doc_id, _ in read_vectors(out)] == CORPUS_IDS


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "coll"
    args = ["--corpus", str(PRODUCTS), "--model", splade_tiny_path(), "--output", str(out),
            "--shard-size", "10", "--batch-size", "2", "--torch-threads", "1"]
    script = Path(__file__).parent / "support.py"
    tests, root = Path(__file__).parent, Path(__file__).parents[1]  # the code under test, not an installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(root)])}
    proc = subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out / "part-00001.jsonl").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "encoder ended before writing a part"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl")}
    assert 2 <= len(done) < 30, "the kill must land mid-way for this test to mean anything"
    assert not (tmp_path / "coll.summary.json").exists()

    result = encode(*[a for a in args if a not in ("--model", splade_tiny_path())])
    assert result.exit_code == 0, result.output
    assert f"kept {len(done)} finished part(s)" in result.output
    assert all((out / name).stat().st_mtime_ns == mtime for name, mtime in done.items())  # not rewritten
    ids = [doc_id for doc_id, _ in read_vectors(out)]
    assert ids == CORPUS_IDS  # every product once, in corpus order
    assert not list(out.glob(".*.tmp"))  # the killed run's temporary file was cleaned up


def test_resume_re_encodes_a_part_that_lost_lines(tmp_path):
    out = tmp_path / "coll"
    args = ("--corpus", str(PRODUCTS), "--output", str(out), "--shard-size", "100")
    assert encode(*args).exit_code == 0
    part = out / "part-00001.jsonl"
    whole = part.read_bytes()
    part.write_bytes(b"".join(whole.splitlines(keepends=True)[:-3]))  # lost whole lines, still valid JSONL
    again = encode(*args)
    assert again.exit_code == 0, again.output
    assert "wrote 1 part(s)" in again.output and "kept 2 finished part(s)" in again.output
    assert part.read_bytes() == whole
    summary = json.loads((tmp_path / "coll.summary.json").read_text())
    assert summary["products_indexed"] == 300 and summary["empty_vectors_skipped"] == 0
    assert summary["part_records"]["part-00001.jsonl"]["lines"] == 100
