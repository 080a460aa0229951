"""Home Depot loader, prepared folder, split, embedded sample and the `prosper-data` CLI."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from prosper_pyserini.data.cli import main
from prosper_pyserini.data.formats import InputError, read_corpus, read_qrels, read_queries
from prosper_pyserini.data.homedepot import (
    SAMPLE_DIR,
    grade,
    load_homedepot,
    prepare_homedepot,
    prepare_sample,
    query_id,
)
from prosper_pyserini.data.prepared import PreparedDataset, split_queries

REAL = Path(os.environ.get("PROSPER_HOMEDEPOT", Path(__file__).resolve().parents[2] / "shared" / "data" / "homedepot"))
HEADER = '"id","product_uid","product_title","search_term","relevance"\n'


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_bytes((HEADER + "".join(r + "\n" for r in rows)).encode("latin-1"))
    return path


# ------------------------------------------------------------------------------------------ conventions


@pytest.mark.parametrize("relevance, expected", [(3.0, 2), (2.67, 2), (2.66, 1), (2.5, 1), (2.33, 1), (2.0, 1),
                                                  (1.99, 0), (1.67, 0), (1.0, 0)])
def test_grade_thresholds(relevance: float, expected: int) -> None:
    assert grade(relevance) == expected


def test_query_id_is_sha1_of_exact_utf8_text() -> None:
    # computed independently: `printf 'angle bracket' | sha1sum` -> d8f34e1678c2b981...
    assert query_id("angle bracket") == "qd8f34e1678"
    assert query_id("angle bracket ") != query_id("angle bracket")  # no normalisation
    assert query_id("30Â°") == "q381dd55c35"  # `printf "30\xc3\x82\xc2\xb0" | sha1sum`: UTF-8 of the mojibake


def test_latin1_bytes_are_read_as_is(tmp_path: Path) -> None:
    raw = tmp_path / "train.csv"
    raw.write_bytes(HEADER.encode() + b'1,100,"Nails 30\xc2\xb0 Paper Tape","nails 30\xb0",3\n')
    data = load_homedepot(raw)
    (qid, text), = data.queries.items()
    assert text == "nails 30°" and qid == query_id("nails 30°")
    assert data.docs[0].text == "Nails 30Â° Paper Tape"  # mojibake kept, not "fixed"


# ------------------------------------------------------------------------------------------ loader


def test_duplicates_keep_max_grade_and_are_counted(tmp_path: Path) -> None:
    raw = write_csv(tmp_path / "train.csv", [
        '1,100,"Drill A","drill",1.67', '2,100,"Drill A","drill",2.67', '3,101,"Saw B","drill",2',
        '4,101,"Saw B (new title)","saw",3'])
    data = load_homedepot(raw)
    assert data.qrels[query_id("drill")] == {"100": 2, "101": 1}
    assert data.stats["duplicate_pairs"] == 1
    assert data.stats["csv_title_conflicts"] == 1
    assert {d.id: d.text for d in data.docs} == {"100": "Drill A", "101": "Saw B"}  # first title wins


def test_zip_input_equals_csv_input(tmp_path: Path) -> None:
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill A","drill",3', '2,101,"Saw","saw",1'])
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w") as archive:
        archive.write(raw, "train.csv")
    a, b = load_homedepot(raw), load_homedepot(tmp_path / "train.csv.zip")
    assert (a.queries, a.qrels, a.docs) == (b.queries, b.qrels, b.docs)


@pytest.mark.parametrize("row, reason", [
    ('3,102,"Hammer","hammer",high', "relevance 'high' is not a number"),
    ('3,102,"Hammer","hammer"', "expected 5 columns, found 4"),
    ('3,102,"Hammer","hammer",4.5', "relevance '4.5' is outside 1..3"),
    ('3,,"Hammer","hammer",3', "empty product_uid"),
    ('3,102,"Hammer","",3', "empty search_term"),
])
def test_bad_row_reports_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill","drill",3', '2,101,"Saw","saw",2', row])
    with pytest.raises(InputError) as info:
        load_homedepot(raw)
    assert str(info.value) == f"{raw}:4: {reason}"


def test_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill\nwith a newline","drill",3', '2,101,"Saw","saw",x'])
    with pytest.raises(InputError, match=r"train.csv:4: relevance 'x'"):
        load_homedepot(raw)


def test_malformed_csv_quote_is_located(tmp_path: Path) -> None:
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill","drill",3', '2,101,"Saw" x,"saw",2'])
    with pytest.raises(InputError, match=r"train.csv:3: malformed CSV"):
        load_homedepot(raw)


def test_skip_mode_counts_bad_rows(tmp_path: Path) -> None:
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill","drill",3', '2,101,"Saw","saw",oops',
                                             '3,102,"Hammer","hammer"', '4,103,"Tape","tape",2.33'])
    out = prepare_homedepot(raw, tmp_path / "out", on_error="skip", dev_size=1)
    manifest = out.manifest()
    assert manifest["stats"]["skipped_rows"] == 2 and manifest["stats"]["csv_rows"] == 2
    assert manifest["counts"]["queries"] == {"train": 1, "dev": 1, "all": 2}


def test_missing_files_and_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_homedepot(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match=r"bad.csv:1: expected header"):
        load_homedepot(bad)
    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill","drill",3'])
    products = tmp_path / "products.jsonl"
    products.write_text('{"id": "999", "title": "Other"}\n')
    with pytest.raises(InputError, match=r"train.csv:2: product_uid 100 is not in"):
        load_homedepot(raw, products)


# ------------------------------------------------------------------------------------------ split


def test_split_is_deterministic_disjoint_and_seeded() -> None:
    qids = [f"q{i:04d}" for i in range(1000)]
    a = split_queries(qids, seed=13, dev_fraction=0.1)
    assert a == split_queries(list(reversed(qids)), seed=13, dev_fraction=0.1)  # input order is irrelevant
    assert sum(v == "dev" for v in a.values()) == 100 and set(a) == set(qids)
    b = split_queries(qids, seed=14, dev_fraction=0.1)
    assert {q for q in qids if a[q] == "dev"} != {q for q in qids if b[q] == "dev"}
    assert sum(v == "dev" for v in split_queries(qids, seed=13, dev_size=7).values()) == 7
    # pinned: the rule is sha256("13:qid") order, so these never change across machines or versions
    expected = sorted(qids, key=lambda q: hashlib.sha256(f"13:{q}".encode()).hexdigest())[:100]
    assert {q for q in qids if a[q] == "dev"} == set(expected)
    with pytest.raises(ValueError):
        split_queries(qids, dev_fraction=1.0)


# ------------------------------------------------------------------------------------------ sample catalog


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> PreparedDataset:
    return prepare_sample(tmp_path_factory.mktemp("sample") / "prepared")


def test_sample_raw_files_are_in_the_real_layout() -> None:
    raw = (SAMPLE_DIR / "train.csv").read_bytes()
    assert raw.startswith(HEADER.encode())
    raw.decode("latin-1")  # the real file's encoding
    sizes = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir())
    assert sizes < 200_000
    values = {line.rsplit(",", 1)[1] for line in raw.decode("latin-1").splitlines()[1:]}
    assert values <= {"1", "1.33", "1.67", "2", "2.33", "2.67", "3"} and len(values) >= 5


def test_sample_prepared_folder(sample_dir: PreparedDataset) -> None:
    dataset = PreparedDataset.load(sample_dir.root, verify=True)
    manifest = dataset.manifest()
    counts = manifest["counts"]
    assert 350 <= counts["products"] <= 450
    assert counts["queries"]["all"] >= 60
    assert counts["queries"]["train"] + counts["queries"]["dev"] == counts["queries"]["all"]
    assert counts["queries"]["dev"] == round(0.1 * counts["queries"]["all"])
    assert set(counts["judgments"]["all"]) == {"0", "1", "2"}
    train, dev, every = dataset.queries("train"), dataset.queries("dev"), dataset.queries("all")
    assert not set(train) & set(dev) and set(train) | set(dev) == set(every)
    qrels = dataset.qrels("all")
    assert set(qrels) == set(every)
    assert all(qid == query_id(text) for qid, text in every.items())
    docs = {d.id for d in read_corpus(dataset.corpus)}
    assert {d for judged in qrels.values() for d in judged} <= docs
    lines = dataset.corpus.read_text(encoding="utf-8").splitlines()
    assert set(json.loads(lines[0])) == {"id", "contents"}  # Anserini JsonCollection
    assert manifest["split"] == {"method": manifest["split"]["method"], "seed": 13, "dev_fraction": 0.1,
                                 "dev_size": counts["queries"]["dev"]}


def test_prepared_output_is_reproducible(sample_dir: PreparedDataset, tmp_path: Path) -> None:
    again = prepare_sample(tmp_path / "again")
    for a, b in zip(sample_dir.files() + [sample_dir.manifest_path], again.files() + [again.manifest_path]):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_load_reports_missing_and_changed_files(sample_dir: PreparedDataset, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such prepared dataset folder"):
        PreparedDataset.load(tmp_path / "nothing")
    copy = prepare_sample(tmp_path / "copy")
    copy.qrels_path("dev").unlink()
    with pytest.raises(InputError, match=r"qrels.dev.txt: missing"):
        PreparedDataset.load(copy.root)
    other = prepare_sample(tmp_path / "other")
    with open(other.queries_path("train"), "a", encoding="utf-8") as handle:
        handle.write("qextra\textra\n")
    PreparedDataset.load(other.root)  # present: fine without verify
    with pytest.raises(InputError, match="SHA-256 differs"):
        PreparedDataset.load(other.root, verify=True)


# ------------------------------------------------------------------------------------------ CLI


def test_cli_sample_and_homedepot(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["sample", "--out", str(tmp_path / "s"), "--seed", "7", "--dev-fraction", "0.2"])
    assert result.exit_code == 0, result.output
    assert "products: " in result.output and "grade 2:" in result.output
    manifest = PreparedDataset.load(tmp_path / "s").manifest()
    assert manifest["split"]["seed"] == 7 and manifest["source"]["name"] == "sample"

    raw = write_csv(tmp_path / "train.csv", ['1,100,"Drill","drill",3', '2,101,"Saw","saw",nope'])
    result = runner.invoke(main, ["homedepot", "--raw", str(raw), "--out", str(tmp_path / "h")])
    assert result.exit_code == 1 and f"{raw}:3: relevance 'nope' is not a number" in result.output
    result = runner.invoke(main, ["homedepot", "--raw", str(raw), "--out", str(tmp_path / "h"), "--skip-bad-lines",
                                  "--dev-size", "0"])
    assert result.exit_code == 0, result.output
    assert read_queries(tmp_path / "h" / "queries.all.tsv") == {query_id("drill"): "drill"}
    assert read_qrels(tmp_path / "h" / "qrels.dev.txt") == {}
    assert runner.invoke(main, ["--help"]).exit_code == 0


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.skipif(not (REAL / "train.csv.zip").exists(), reason="real Home Depot data not present")
def test_real_homedepot(tmp_path: Path) -> None:
    dataset = prepare_homedepot(REAL / "train.csv.zip", tmp_path / "hd", products=REAL / "products.jsonl")
    manifest = dataset.manifest()
    counts = manifest["counts"]
    assert counts["products"] == 54_667
    assert counts["queries"] == {"train": 9_265, "dev": 1_030, "all": 10_295}
    assert sum(counts["judgments"]["all"].values()) == 63_977
    assert counts["judgments"]["all"] == {"0": 10_600, "1": 24_376, "2": 29_001}
    assert counts["queries_with_relevant"] == {"train": 7_375, "dev": 841, "all": 8_216}
    assert manifest["stats"]["duplicate_pairs"] == 0 and manifest["stats"]["skipped_rows"] == 0
    assert dataset.queries("all")["q" + hashlib.sha1(b"angle bracket").hexdigest()[:10]] == "angle bracket"


def test_sample_generator_reproduces_committed_files(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "tools" / "make_sample_catalog.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("products.jsonl", "train.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
