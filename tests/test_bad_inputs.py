"""Every bad input gets one clear line and loses nothing (issue 14): one table row per case.

Each row is a command, the bad input it is given (written into the row's own folder), the exit code (2 for
usage, 1 for data, 0 where the input is odd but fine, e.g. a BOM), a fragment of the one-line message, and
the outputs that must not exist afterwards. Every row also checks that the shared prepared dataset and BM25
index are byte-identical afterwards, that nothing prints a traceback, and that a failure is exactly one
``prosper-X: error: ...`` line. The shared world (the embedded sample catalog, one BM25 index over it) is
built once per module.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click
import pytest
import yaml
from click.testing import CliRunner
from support import cached_load_model, splade_tiny_path

from prosper_pyserini.checksums import sha256_tree

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "prosper_pyserini" / "data" / "sample"
FIXTURES = Path(__file__).parent / "fixtures" / "data"
BOM = "\ufeff"


@dataclass(frozen=True)
class World:
    """Shared, read-only inputs; every row checks they are unchanged afterwards."""

    data: Path
    index: Path
    queries: Path
    qrels: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from prosper_pyserini.data.homedepot import prepare_sample
    from prosper_pyserini.index.lucene import run_indexer

    root = tmp_path_factory.mktemp("world")
    data = prepare_sample(root / "data").root
    index = root / "index"
    run_indexer(["-collection", "JsonCollection", "-input", str(data / "corpus"), "-index", str(index),
                 "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1", "-storeRaw"])
    return World(data=data, index=index, queries=data / "queries.dev.tsv", qrels=data / "qrels.dev.txt")


def commands() -> dict[str, Callable]:
    from prosper_pyserini.cli import main as prosper
    from prosper_pyserini.data.cli import main as data
    from prosper_pyserini.encode.cli import main as encode
    from prosper_pyserini.eval.cli import diff_command, evaluate_command
    from prosper_pyserini.experiment.cli import main as repro
    from prosper_pyserini.index.cli import main as index
    from prosper_pyserini.search.cli import main as search
    from prosper_pyserini.train.cli import main as train

    return {"prosper-data": data, "prosper-encode": encode, "prosper-index": index, "prosper-search": search,
            "prosper-eval": evaluate_command, "prosper-eval diff": diff_command, "prosper-repro": repro,
            "prosper-train": train, "prosper": prosper, "prosper-pyserini": pyserini}


@click.command("prosper-pyserini", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def pyserini(args: tuple[str, ...]) -> None:
    """``prosper-pyserini`` (a plain ``main(argv)``) as a command the table's runner can invoke."""
    from prosper_pyserini.pyserini_cli import main

    main(list(args))


# ------------------------------------------------------------------------------------------- inputs


def put(folder: Path, name: str, content: str | bytes) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def jsonl(*rows: dict) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def docs(*ids: str) -> str:
    return jsonl(*({"id": i, "contents": f"cordless drill {n}"} for n, i in enumerate(ids)))


HD_HEADER = '"id","product_uid","product_title","search_term","relevance"\n'


def hd(rows: str, bom: str = "") -> str:
    return bom + HD_HEADER + rows


def index_args(w: World, t: Path, collection: str, *extra: str) -> list[str]:
    """Index ``collection`` (a folder in the row's folder) over the shared index: it must survive any failure."""
    return ["--collection", "JsonCollection", "--input", str(t / collection), "--index", str(w.index),
            "--generator", "DefaultLuceneDocumentGenerator", "--threads", "1", *extra]


def collection(t: Path, content: str | bytes, name: str = "docs.jsonl") -> Path:
    put(t / "coll", name, content)
    return t / "coll"


def search_args(w: World, t: Path, *extra: str, queries: str | None = None) -> list[str]:
    return ["--index", str(w.index), "--queries", queries or str(w.queries), "--output", str(t / "run.trec"), *extra]


def encode_args(t: Path, *extra: str) -> list[str]:
    return ["--model", splade_tiny_path(), "--output", str(t / "coll"), *extra]


def corpus(t: Path, content: str | bytes, name: str = "corpus.jsonl") -> list[str]:
    return ["--corpus", put(t, name, content)]


def repro_config(w: World, t: Path, edit: Callable[[dict], object] | None = None, text: str | None = None) -> str:
    """eval/sample.yaml pointed into the row's folder (bm25 only), edited, as a file."""
    config = yaml.safe_load((ROOT / "eval" / "sample.yaml").read_text())
    config.update(work_dir=str(t / "work"), runs_dir=str(t / "runs"), report_dir=str(t / "report"))
    config["systems"] = [s for s in config["systems"] if s["name"] == "bm25"]
    if edit is not None:
        edit(config)
    return put(t, "exp.yaml", text if text is not None else yaml.safe_dump(config))


def repro(w: World, t: Path, *overrides: str, edit: Callable[[dict], object] | None = None) -> list[str]:
    return ["--config", repro_config(w, t, edit), *overrides]


def impact_index(t: Path, model_checksum: str = "0" * 64) -> str:
    """A small impact index over a collection whose summary names another model than SPLADE-tiny."""
    from prosper_pyserini.index.lucene import run_indexer

    put(t, "vectors/part-00000.jsonl", jsonl({"id": "1", "contents": "drill", "vector": {"drill": 100}}))
    put(t, "vectors.summary.json", json.dumps({"model_checksum": model_checksum}))
    run_indexer(["-collection", "JsonVectorCollection", "-input", str(t / "vectors"), "-index", str(t / "impact"),
                 "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1", "-impact", "-pretokenized"])
    return str(t / "impact")


def run_file(t: Path, rows: str, name: str = "sys.trec") -> str:
    return put(t, name, rows)


QRELS = "q1 0 d1 2\nq1 0 d2 0\nq2 0 d3 2\n"
RUN = "q1 Q0 d1 1 3.0 s\nq1 Q0 d2 2 2.0 s\nq2 Q0 d3 1 1.0 s\n"


def evaluate(t: Path, run: str = RUN, qrels: str = QRELS, *extra: str) -> list[str]:
    return [run_file(t, run), "--qrels", put(t, "q.qrels", qrels), *extra]


# --------------------------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Case:
    id: str
    command: str
    args: Callable[[World, Path], list[str]]
    code: int
    fragment: str
    absent: tuple[str, ...] = ()  # paths in the row's folder that must not exist afterwards
    then: Callable[[World, Path], bool] | None = None  # what the row must have left behind


def case(id: str, command: str, args: Callable[[World, Path], list[str]], code: int, fragment: str,
         *absent: str, then: Callable[[World, Path], bool] | None = None) -> Case:
    return Case(id, command, args, code, fragment, absent, then)


def ids_in(path: Path) -> list[str]:
    """The ids of a run (column 1), or of a JSONL file, in file order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".trec":
        return list(dict.fromkeys(line.split()[0] for line in lines))
    return [json.loads(line)["id"] for line in lines]


def no_sys(config: dict) -> None:
    config["systems"] = []


def bm25_typo(config: dict) -> None:
    config["systems"][0]["kl"] = 1.2


def search_typo(config: dict) -> None:
    config["search"]["kk"] = 10


CASES = [
    # ---- data loss: ids with whitespace are refused at the first stage that sees them (item 1)
    case("data-uid-space", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "train.csv", hd(
        '1,"99 99","Drill","drill",3\n')), "--out", str(t / "out")], 1, "train.csv:2: product_uid '99 99' contains whitespace", "out"),
    case("data-products-id-tab", "prosper-data", lambda w, t: ["homedepot", "--raw", str(SAMPLE / "train.csv"),
         "--products", put(t, "p.jsonl", jsonl({"id": "300001\tx", "title": "drill"})), "--out", str(t / "out")],
         1, "p.jsonl:1: id '300001\\tx' contains whitespace", "out"),
    case("data-wands-id-space", "prosper-data", lambda w, t: ["wands", "--raw", str(wands(t, "0\t", "0 7\t")),
         "--out", str(t / "out")], 1, "product_id '0 7' contains whitespace", "out"),
    case("data-multicpr-id-space", "prosper-data", lambda w, t: ["multicpr", "--raw", str(multicpr(t)),
         "--out", str(t / "out")], 1, "corpus.tsv:1: id '1 1' contains whitespace", "out/manifest.json", "out/corpus/products.jsonl"),
    case("encode-id-space", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, docs("1", "99 99"))),
         1, "corpus.jsonl:2: id '99 99' contains whitespace", "coll/part-00000.jsonl"),
    case("encode-id-tab", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, docs("a\tb"))),
         1, "corpus.jsonl:1: id 'a\\tb' contains whitespace", "coll/part-00000.jsonl"),
    case("encode-id-newline", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, docs("1", "2", "a\nb"))),
         1, "corpus.jsonl:3: id 'a\\nb' contains whitespace", "coll/part-00000.jsonl"),
    case("index-id-space", "prosper-index", lambda w, t: index_args(w, t, collection(t, docs("1", "99 99")).name),
         1, "docs.jsonl:2: id '99 99' contains whitespace"),
    case("index-id-tab", "prosper-index", lambda w, t: index_args(w, t, collection(t, docs("a\tb")).name),
         1, "docs.jsonl:1: id 'a\\tb' contains whitespace"),
    case("index-id-newline", "prosper-index", lambda w, t: index_args(w, t, collection(t, docs("a\nb")).name),
         1, "docs.jsonl:1: id 'a\\nb' contains whitespace"),
    case("search-qid-space", "prosper-search", lambda w, t: search_args(w, t, queries=put(t, "q.tsv", "q 1\tdrill\n")),
         1, "q.tsv:1: query id 'q 1' contains whitespace", "run.trec"),
    case("search-name-space", "prosper-search", lambda w, t: search_args(w, t, "--name", "my run"),
         2, "the run tag must be one word", "run.trec"),
    # ---- data loss: a failed or empty build never replaces an index (items 2, 3)
    case("index-bad-json-line", "prosper-index", lambda w, t: index_args(w, t, collection(
        t, docs("1", "2") + '{"id": "3", "contents": \n' + docs("4")).name), 1, "docs.jsonl:3: malformed JSON"),
    case("index-empty-folder", "prosper-index", lambda w, t: (t / "coll").mkdir() or index_args(w, t, "coll"),
         1, "no documents to index"),
    case("index-blank-lines-only", "prosper-index", lambda w, t: index_args(w, t, collection(t, "\n\n").name),
         1, "no documents to index"),
    case("index-empty-contents", "prosper-index", lambda w, t: index_args(w, t, collection(
        t, jsonl({"id": "1", "contents": "drill"}, {"id": "2", "contents": ""})).name), 1, "counters do not match"),
    case("index-not-an-object", "prosper-index", lambda w, t: index_args(w, t, collection(t, "[1, 2]\n").name),
         1, "docs.jsonl:1: expected a JSON object"),
    case("index-non-utf8", "prosper-index", lambda w, t: index_args(w, t, collection(
        t, b'{"id": "1", "contents": "caf\xe9"}\n').name), 1, "docs.jsonl:1: not UTF-8"),
    case("index-bom", "prosper-index", lambda w, t: index_args(w, t, collection(t, BOM + docs("1")).name),
         1, "docs.jsonl:1: starts with a UTF-8 byte order mark"),
    case("index-input-is-a-file", "prosper-index", lambda w, t: index_args(w, t, Path(put(t, "f.jsonl", docs("1"))).name),
         1, "-input must be a directory"),
    case("index-unknown-anserini-flag", "prosper-index", lambda w, t: index_args(
        w, t, collection(t, docs("1")).name, "--noSuchFlag"), 2, "Anserini does not accept these flags"),
    case("index-no-flags", "prosper-index", lambda w, t: [], 2, "no indexing flags given"),
    case("index-no-index-flag", "prosper-index", lambda w, t: ["--collection", "JsonCollection", "--input", str(t)],
         2, "needs at least -collection, -input and -index"),
    # ---- data loss: a BOM is not part of the first id (item 5)
    case("search-queries-bom", "prosper-search", lambda w, t: search_args(
        w, t, "--k", "5", queries=put(t, "q.tsv", BOM + "q1\tcordless drill\nq2\twhite paint\n")), 0, "for 2 queries",
        then=lambda w, t: ids_in(t / "run.trec") == ["q1", "q2"]),
    case("encode-corpus-bom", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, BOM + docs("1", "2", "3"))),
         0, "complete: 3 products", then=lambda w, t: ids_in(t / "coll" / "part-00000.jsonl") == ["1", "2", "3"]),
    case("encode-queries-bom", "prosper-encode", lambda w, t: ["--model", splade_tiny_path(), "--queries", put(
        t, "q.tsv", BOM + "q1\tcordless drill\nq2\tpaint\n"), "--output", str(t / "q.jsonl")], 0, "2 queries",
         then=lambda w, t: ids_in(t / "q.jsonl") == ["q1", "q2"]),
    case("data-homedepot-bom", "prosper-data", lambda w, t: ["homedepot", "--raw", put(
        t, "train.csv", BOM.encode("utf-8") + (SAMPLE / "train.csv").read_bytes()), "--products",
        str(SAMPLE / "products.jsonl"), "--out", str(t / "out")], 0, "wrote"),
    case("eval-run-bom", "prosper-eval", lambda w, t: evaluate(t, BOM + RUN), 0, "MRR@10"),
    # ---- silent wrong results become errors or counted warnings (items 6, 7, 8)
    case("repro-override-typo", "prosper-repro", lambda w, t: repro(w, t, "serach.k=10"), 2,
         "unknown config key 'serach'", "work"),
    case("repro-section-typo", "prosper-repro", lambda w, t: repro(w, t, edit=search_typo), 2,
         "unknown config key 'search.kk'", "work"),
    case("repro-system-typo", "prosper-repro", lambda w, t: repro(w, t, edit=bm25_typo), 2,
         "unknown config key 'systems[0].kl'", "work"),
    case("repro-train-typo", "prosper-repro", lambda w, t: repro(w, t, edit=lambda c: c["systems"].append(
        {"name": "p", "type": "sparse", "train": {"confg": "prosper"}})), 2,
         "unknown config key 'systems[1].train.confg'", "work"),
    case("search-impact-on-bm25-index", "prosper-search", lambda w, t: search_args(
        w, t, "--system", "impact", "--encoded-queries", put(t, "q.jsonl", jsonl({"id": "q1", "vector": {"a": 1}}))),
         2, "was built for --system bm25", "run.trec"),
    case("search-bm25-on-impact-index", "prosper-search", lambda w, t: ["--index", impact_index(t), "--queries",
         str(w.queries), "--output", str(t / "run.trec")], 2, "was built for --system impact", "run.trec"),
    case("search-impact-with-another-model", "prosper-search", lambda w, t: ["--index", impact_index(t), "--queries",
         str(w.queries), "--system", "impact", "--model", splade_tiny_path(), "--output", str(t / "run.trec")], 2,
         "was encoded by another model", "run.trec"),
    case("search-stopwords-only", "prosper-search", lambda w, t: search_args(
        w, t, queries=put(t, "q.tsv", "q1\tcordless drill\nq2\tthe of and\n")), 0, "1 of 2 queries have no results"),
    case("eval-inf-score", "prosper-eval", lambda w, t: evaluate(t, RUN + "q2 Q0 d9 2 inf s\n"), 0,
         "skipped 1 infinite scores"),
    case("eval-nan-score", "prosper-eval", lambda w, t: evaluate(t, RUN + "q2 Q0 d9 2 nan s\n"), 0,
         "skipped 1 NaN scores"),
    case("eval-negative-grade", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS + "q2 0 d9 -1\n"), 0,
         "skipped 1 negative grades"),
    case("explain-empty-text", "prosper", lambda w, t: ["explain", "--model", splade_tiny_path(), ""], 2,
         "an empty text has no terms to explain"),
    # ---- tracebacks become one line: prosper-repro
    case("repro-override-no-equals", "prosper-repro", lambda w, t: repro(w, t, "search.k"), 2,
         "override 'search.k' is not key=value", "work"),
    case("repro-override-bad-yaml", "prosper-repro", lambda w, t: repro(w, t, "search.k=[1"), 2,
         "override 'search.k=[1': the value is not YAML", "work"),
    case("repro-k-zero", "prosper-repro", lambda w, t: repro(w, t, "search.k=0"), 2,
         "search.k must be an integer from 1 to", "work"),
    case("repro-k-text", "prosper-repro", lambda w, t: repro(w, t, "search.k=abc"), 2,
         "search.k must be an integer from 1 to", "work"),
    case("repro-systems-empty", "prosper-repro", lambda w, t: repro(w, t, edit=no_sys), 2,
         "'systems' must be a non-empty list", "work"),
    case("repro-only-nosuch", "prosper-repro", lambda w, t: [*repro(w, t), "--only", "nosuch"], 2,
         "--only nosuch: no such system", "work"),
    case("repro-invalid-yaml", "prosper-repro", lambda w, t: ["--config", repro_config(w, t, text="name: [x\n")], 2,
         "exp.yaml:2: invalid YAML", "work"),
    case("repro-tab-indented-yaml", "prosper-repro", lambda w, t: ["--config", repro_config(
        w, t, text="name: x\nsearch:\n\tk: 10\n")], 2, "exp.yaml:3: invalid YAML", "work"),
    case("repro-not-a-mapping", "prosper-repro", lambda w, t: ["--config", repro_config(w, t, text="- a\n- b\n")], 2,
         "a config must be a YAML mapping", "work"),
    case("repro-unknown-type", "prosper-repro", lambda w, t: repro(w, t, edit=lambda c: c["systems"].append(
        {"name": "m", "type": "magic"})), 2, "unknown type 'magic'", "work"),
    case("repro-fuses-unknown", "prosper-repro", lambda w, t: repro(w, t, edit=lambda c: c["systems"].append(
        {"name": "f", "type": "fusion", "runs": ["bm25", "nope"]})), 2, "fuses unknown system 'nope'", "work"),
    case("repro-missing-prepared-data", "prosper-repro", lambda w, t: repro(
        w, t, "data.source=prepared", f"data.prepared={t / 'nowhere'}"), 1, "no such prepared dataset folder", "runs"),
    case("repro-missing-config", "prosper-repro", lambda w, t: ["--config", str(t / "none.yaml")], 2,
         "does not exist"),
    case("repro-unknown-source", "prosper-repro", lambda w, t: repro(w, t, "data.source=kaggle"), 2,
         "data.source must be sample, homedepot, prepared, not 'kaggle'", "work"),
    # ---- tracebacks become one line: prosper-search, validated before the JVM starts
    case("search-k-zero", "prosper-search", lambda w, t: search_args(w, t, "--k", "0"), 2, "--k", "run.trec"),
    case("search-k-negative", "prosper-search", lambda w, t: search_args(w, t, "--k", "-1"), 2, "--k", "run.trec"),
    case("search-batch-size-zero", "prosper-search", lambda w, t: search_args(w, t, "--batch-size", "0"), 2,
         "--batch-size", "run.trec"),
    case("search-threads-zero", "prosper-search", lambda w, t: search_args(w, t, "--threads", "0"), 2,
         "--threads", "run.trec"),
    case("search-b-out-of-range", "prosper-search", lambda w, t: search_args(w, t, "--b", "2"), 2, "--b", "run.trec"),
    case("search-empty-index-folder", "prosper-search", lambda w, t: ["--index", str((t / "e").mkdir() or t / "e"),
         "--queries", str(w.queries), "--output", str(t / "run.trec")], 2, "not a bm25 index", "run.trec"),
    case("search-dense-on-lucene-index", "prosper-search", lambda w, t: search_args(
        w, t, "--system", "dense", "--model", "x"), 2, "not a dense index", "run.trec"),
    case("search-missing-queries", "prosper-search", lambda w, t: search_args(w, t, queries=str(t / "none.tsv")),
         2, "does not exist", "run.trec"),
    case("search-queries-no-tab", "prosper-search", lambda w, t: search_args(w, t, queries=put(t, "q.tsv", "q1 drill\n")),
         1, "q.tsv:1: expected 'qid<TAB>text'", "run.trec"),
    case("search-queries-duplicate", "prosper-search", lambda w, t: search_args(
        w, t, queries=put(t, "q.tsv", "q1\tdrill\nq1\tsaw\n")), 1, "q.tsv:2: duplicate query id 'q1'", "run.trec"),
    case("search-queries-empty-text", "prosper-search", lambda w, t: search_args(
        w, t, queries=put(t, "q.tsv", "q1\t \n")), 1, "q.tsv:1: empty text for query 'q1'", "run.trec"),
    case("search-queries-non-utf8", "prosper-search", lambda w, t: search_args(
        w, t, queries=put(t, "q.tsv", b"q1\tcaf\xe9\n")), 1, "q.tsv:1: not UTF-8", "run.trec"),
    case("search-queries-lone-surrogate", "prosper-search", lambda w, t: search_args(
        w, t, queries=put(t, "q.jsonl", '{"id": "q1", "text": "drill \\ud800"}\n')), 1, "q.jsonl:1: text for query 'q1' holds a lone surrogate", "run.trec"),
    case("search-impact-no-model", "prosper-search", lambda w, t: (put(t, "i/segments_1", b"") and [
        "--index", str(t / "i"), "--queries", str(w.queries), "--system", "impact", "--output", str(t / "run.trec")]),
         2, "needs exactly one of --model, --encoded-queries", "run.trec"),
    # ---- tracebacks become one line: prosper-encode, validated before the model loads
    case("encode-batch-size-zero", "prosper-encode", lambda w, t: encode_args(t, "--corpus", str(SAMPLE / "products.jsonl"),
         "--batch-size", "0"), 2, "--batch-size", "coll"),
    case("encode-shard-size-zero", "prosper-encode", lambda w, t: encode_args(t, "--corpus", str(SAMPLE / "products.jsonl"),
         "--shard-size", "0"), 2, "--shard-size", "coll"),
    case("encode-shard-out-of-range", "prosper-encode", lambda w, t: encode_args(
        t, "--corpus", str(SAMPLE / "products.jsonl"), "--shard", "2/2"), 2, "need 0 <= i < n", "coll"),
    case("encode-shard-not-i-n", "prosper-encode", lambda w, t: encode_args(
        t, "--corpus", str(SAMPLE / "products.jsonl"), "--shard", "half"), 2, "expected i/n", "coll"),
    case("encode-scale-zero", "prosper-encode", lambda w, t: encode_args(
        t, "--corpus", str(SAMPLE / "products.jsonl"), "--scale", "0"), 2, "--scale", "coll"),
    case("encode-no-input", "prosper-encode", lambda w, t: encode_args(t), 2,
         "give exactly one of --corpus, --data, --queries", "coll"),
    case("encode-data-without-corpus", "prosper-encode", lambda w, t: encode_args(
        t, "--data", str((t / "d").mkdir() or t / "d")), 2, "has no corpus/products.jsonl", "coll"),
    case("encode-unknown-model", "prosper-encode", lambda w, t: ["--model", "nosuch-model", "--corpus",
         str(SAMPLE / "products.jsonl"), "--output", str(t / "coll")], 2, "unknown model 'nosuch-model'", "coll"),
    case("encode-empty-corpus", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, "\n")), 1,
         "no products to encode", "coll/part-00000.jsonl"),
    case("encode-malformed-line", "prosper-encode", lambda w, t: encode_args(t, *corpus(
        t, docs("1") + '{"id": \n')), 1, "corpus.jsonl:2: malformed JSON", "coll/part-00000.jsonl"),
    case("encode-lone-surrogate", "prosper-encode", lambda w, t: encode_args(t, *corpus(
        t, docs("1") + '{"id": "2", "contents": "drill \\ud800"}\n')), 1,
         "corpus.jsonl:2: text for id '2' holds a lone surrogate", "coll/part-00000.jsonl"),
    case("encode-lone-surrogate-skipped", "prosper-encode", lambda w, t: encode_args(t, "--skip-bad-lines", *corpus(
        t, docs("1") + '{"id": "2", "contents": "drill \\ud800"}\n')), 0, "complete: 1 products"),
    case("encode-foreign-file-in-output", "prosper-encode", lambda w, t: put(t, "coll/notes.txt", "x\n") and encode_args(
        t, *corpus(t, docs("1", "2"))), 1, "not parts of this collection (Anserini would index them): notes.txt",
         "coll/part-00000.jsonl"),
    case("encode-queries-duplicate", "prosper-encode", lambda w, t: ["--model", splade_tiny_path(), "--queries", put(
        t, "q.tsv", "q1\tdrill\nq1\tsaw\n"), "--output", str(t / "q.jsonl")], 1, "q.tsv:2: duplicate query id", "q.jsonl"),
    # ---- tracebacks become one line: prosper-data, prosper-train, prosper-eval, prosper
    case("data-missing-raw", "prosper-data", lambda w, t: ["homedepot", "--raw", str(t / "none.csv"), "--out",
         str(t / "out")], 1, "none.csv: no such file", "out"),
    case("data-wrong-header", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "train.csv", "a,b\n1,2\n"),
         "--out", str(t / "out")], 1, "train.csv:1: expected header", "out"),
    case("data-failure-after-the-corpus", "prosper-data", lambda w, t: ["multicpr", "--raw", str(multicpr(
        t, judge_missing=True)), "--out", str(shutil.copytree(w.data, t / "out"))], 1,
         "1 judged product id(s) are not in the corpus", then=lambda w, t: sha256_tree(t / "out") == sha256_tree(w.data)),
    case("data-bad-relevance", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "train.csv", hd(
        '1,300001,"Drill","drill",high\n')), "--out", str(t / "out")], 1, "train.csv:2: relevance 'high' is not a number", "out"),
    case("data-dev-fraction", "prosper-data", lambda w, t: ["sample", "--out", str(t / "out"), "--dev-fraction", "1.5"],
         2, "--dev-fraction", "out"),
    case("data-bad-grades", "prosper-data", lambda w, t: ["irds", "x/y", "--out", str(t / "out"), "--grades", "3:2"],
         2, "expected LEVEL=GRADE pairs", "out"),
    case("data-no-such-command", "prosper-data", lambda w, t: ["kaggle"], 2, "No such command 'kaggle'"),
    case("train-batch-size-zero", "prosper-train", lambda w, t: ["--data", str(w.data), "--output", str(t / "ck"),
         "train.batch_size=0"], 2, "train.batch_size=0 must be a positive integer", "ck"),
    case("train-unknown-key", "prosper-train", lambda w, t: ["--data", str(w.data), "--output", str(t / "ck"),
         "train.lrr=1"], 2, "unknown config key 'train.lrr'", "ck"),
    case("train-override-no-equals", "prosper-train", lambda w, t: ["--data", str(w.data), "--output", str(t / "ck"),
         "train.lr"], 2, "is not key=value", "ck"),
    case("train-tab-indented-config", "prosper-train", lambda w, t: ["--config", put(t, "c.yaml", "train:\n\tlr: 1\n"),
         "--data", str(w.data), "--output", str(t / "ck")], 2, "c.yaml:2: invalid YAML", "ck"),
    case("train-unknown-backbone", "prosper-train", lambda w, t: ["--data", str(w.data), "--output", str(t / "ck"),
         "model.backbone=nosuch-model"], 2, "model.backbone: unknown model 'nosuch-model'", "ck"),
    case("train-unknown-preset", "prosper-train", lambda w, t: ["--config", "nosuch", "--data", str(w.data),
         "--output", str(t / "ck")], 2, "no such config file or preset", "ck"),
    case("eval-no-common-query", "prosper-eval", lambda w, t: evaluate(t, "x1 Q0 d1 1 1.0 s\n"), 1,
         "no query in common"),
    case("eval-nothing-relevant", "prosper-eval", lambda w, t: evaluate(t, RUN, "q1 0 d1 1\n"), 1,
         "nothing to evaluate"),
    case("eval-missing-qrels", "prosper-eval", lambda w, t: [run_file(t, RUN), "--qrels", str(t / "none")], 2,
         "does not exist"),
    case("eval-duplicate-names", "prosper-eval", lambda w, t: [run_file(t, RUN, "a/s.trec"), run_file(t, RUN, "b/s.trec"),
         "--qrels", put(t, "q.qrels", QRELS)], 2, "distinct names"),
    case("explain-unknown-model", "prosper", lambda w, t: ["explain", "--model", "nosuch-model", "drill"], 2,
         "unknown model 'nosuch-model'"),
]


# ------------------------------------------------------- helpers for the hostile-input sweep (issue 36)

HELD: list[Any] = []   # locks a row holds while its command runs (released when the test process ends)


def hold_lock(target: Path) -> None:
    """Take ``target``'s write lock as "another process" would, for the rest of the test."""
    from prosper_pyserini.locks import exclusive

    lock = exclusive(target, "output")
    lock.__enter__()
    HELD.append(lock)


def vector_index_args(t: Path, *vectors: dict[str, Any], name: str = "vc", extra: tuple[str, ...] = ()) -> list[str]:
    """Impact-index a JsonVectorCollection of one document per vector into the row's own folder."""
    rows = [{"id": str(i + 1), "contents": "x", "vector": v} for i, v in enumerate(vectors)]
    put(t / name, "docs.jsonl", "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))
    return ["--collection", "JsonVectorCollection", "--input", str(t / name), "--index", str(t / "vidx"),
            "--generator", "DefaultLuceneDocumentGenerator", "--threads", "1", "--impact", "--pretokenized", *extra]


def unsealed(t: Path) -> str:
    """A collection as a killed ``prosper-encode`` leaves it: settings and one part, no summary."""
    put(t / "vc", "part-00000.jsonl", jsonl({"id": "1", "contents": "drill", "vector": {"drill": 100}}))
    put(t, "vc.settings.json", json.dumps({"model": "m", "parts": {}}))
    return str(t / "vc")


def sealed_then_changed(t: Path) -> str:
    """A sealed collection whose part was edited afterwards."""
    put(t / "vc", "part-00000.jsonl", jsonl({"id": "1", "contents": "drill", "vector": {"drill": 100}}))
    put(t, "vc.summary.json", json.dumps({"part_records": {"part-00000.jsonl": {"lines": 1, "sha256": "0" * 64}}}))
    return str(t / "vc")


def encoded_query_file(t: Path) -> str:
    return put(t, "q.jsonl", jsonl({"id": "q1", "vector": {"drill": 1}}))


def truncated_repro(w: World, t: Path) -> list[str]:
    """Run the sample BM25 experiment, then cut its cached run to half its lines, as a crashed copy would."""
    args = repro(w, t)
    first = CliRunner().invoke(commands()["prosper-repro"], args, env={"PROSPER_DEBUG": ""})
    assert first.exit_code == 0, first.output
    run = t / "runs" / "bm25.trec"
    lines = run.read_text(encoding="utf-8").splitlines(keepends=True)
    (t / "lines").write_text(str(len(lines)))
    run.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    return args


def train_args(w: World, t: Path, *extra: str) -> list[str]:
    return ["--data", str(w.data), "--output", str(t / "ck"), f"model.backbone={splade_tiny_path()}",
            "model.max_length=16", "train.batch_size=4", "train.max_steps=2", "train.save_every=1",
            "val.enabled=false", *extra]


def interrupted_training(w: World, t: Path, *rerun: str, finished: bool = False) -> list[str]:
    """Train two steps (``last/`` saved after each), then undo the end, as a kill after step 2's save does."""
    first = CliRunner().invoke(commands()["prosper-train"], train_args(w, t), env={"PROSPER_DEBUG": ""})
    assert first.exit_code == 0, first.output
    if not finished:
        (t / "ck" / "summary.json").unlink()
        shutil.rmtree(t / "ck" / "best", ignore_errors=True)
    return train_args(w, t, *rerun)


def logged_steps(t: Path) -> list[int]:
    return [r["step"] for r in map(json.loads, (t / "ck" / "train_log.jsonl").read_text().splitlines()) if "loss" in r]


def damaged_model_copy(t: Path) -> str:
    """A copy of the SPLADE-tiny cache folder (its prosper-weights.json included) with 400 bytes flipped."""
    folder = Path(shutil.copytree(splade_tiny_path(), t / "model"))
    main = folder / json.loads((folder / "prosper-weights.json").read_text())["main"]
    data = bytearray(main.read_bytes())
    for i in range(1000, 1400):
        data[i] ^= 0xFF
    main.write_bytes(bytes(data))
    return str(folder)


def unchanged(path: Path, text: str) -> bool:
    return path.read_text(encoding="utf-8") == text


QUERIES = "q1\tcordless drill\nq2\twhite paint\n"


HOSTILE = [
    # ---- nothing already written is lost or trusted blindly (issue 36)
    case("search-output-is-queries", "prosper-search", lambda w, t: search_args(
        w, t, "--output", put(t, "q.tsv", QUERIES), queries=str(t / "q.tsv")), 2, "overlaps --queries",
        then=lambda w, t: unchanged(t / "q.tsv", QUERIES)),
    case("search-output-inside-index", "prosper-search", lambda w, t: ["--index", str(shutil.copytree(w.index, t / "idx")),
         "--queries", str(w.queries), "--output", str(t / "idx" / "run.trec")], 2, "overlaps --index", "idx/run.trec"),
    case("encode-output-inside-model", "prosper-encode", lambda w, t: ["--model", str(shutil.copytree(
        splade_tiny_path(), t / "m")), "--corpus", str(SAMPLE / "products.jsonl"), "--output", str(t / "m" / "coll")],
        2, "overlaps --model", "m/coll"),
    case("train-output-inside-data", "prosper-train", lambda w, t: ["--data", str(shutil.copytree(w.data, t / "d")),
         "--output", str(t / "d" / "ck")], 2, "overlaps --data", "d/ck"),
    case("data-out-holds-raw", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "out/train.csv", (
        SAMPLE / "train.csv").read_text(encoding="latin-1")), "--out", str(t / "out")], 2, "overlaps --raw",
        then=lambda w, t: (t / "out" / "train.csv").is_file()),
    case("eval-report-holds-run", "prosper-eval", lambda w, t: [run_file(t, RUN, "rep/sys.trec"), "--qrels",
         put(t, "q.qrels", QRELS), "--report", str(t / "rep")], 2, "overlaps RUNS", then=lambda w, t: unchanged(
        t / "rep" / "sys.trec", RUN)),
    case("index-into-its-input", "prosper-index", lambda w, t: ["--collection", "JsonCollection", "--input", str(
        collection(t, docs("1"))), "--index", str(t / "coll" / "idx"), "--generator", "DefaultLuceneDocumentGenerator"],
        2, "overlap: an index is never built over or inside its own collection", "coll/idx"),
    case("repro-truncated-cached-run", "prosper-repro", truncated_repro, 0, "report:",
         then=lambda w, t: len((t / "runs" / "bm25.trec").read_text().splitlines()) == int((t / "lines").read_text())),
    case("index-unsealed-collection", "prosper-index", lambda w, t: unsealed(t) and [
        "--collection", "JsonVectorCollection", "--input", str(t / "vc"), "--index", str(t / "vidx"), "--generator",
        "DefaultLuceneDocumentGenerator", "--impact", "--pretokenized"], 1,
        "prosper-encode has not finished this collection", "vidx"),
    case("search-exact-unsealed-collection", "prosper-search", lambda w, t: ["--system", "exact", "--index", unsealed(t),
         "--queries", put(t, "q.tsv", "q1\tdrill\n"), "--encoded-queries", encoded_query_file(t), "--output",
         str(t / "run.trec")], 1, "prosper-encode has not finished this collection", "run.trec"),
    case("index-part-changed-after-seal", "prosper-index", lambda w, t: sealed_then_changed(t) and [
        "--collection", "JsonVectorCollection", "--input", str(t / "vc"), "--index", str(t / "vidx"), "--generator",
        "DefaultLuceneDocumentGenerator", "--impact", "--pretokenized"], 1,
        "since prosper-encode sealed the collection", "vidx"),
    case("index-another-writer", "prosper-index", lambda w, t: hold_lock(t / "idx") or [
        "--collection", "JsonCollection", "--input", str(collection(t, docs("1"))), "--index", str(t / "idx"),
        "--generator", "DefaultLuceneDocumentGenerator"], 1, "being written by another process (pid", "idx"),
    case("repro-another-writer", "prosper-repro", lambda w, t: hold_lock(t / "work") or repro(w, t), 1,
         "this work_dir is being written by another process", "runs"),
    case("train-resumes-by-hand", "prosper-train", interrupted_training, 0,
         "resuming the interrupted training from step 2", then=lambda w, t: logged_steps(t) == [1, 2]),
    case("train-interrupted-other-config", "prosper-train", lambda w, t: interrupted_training(w, t, "train.lr=0.5"), 1,
         "holds an interrupted training made with another config (train.lr)"),
    case("train-finished-output", "prosper-train", lambda w, t: interrupted_training(w, t, finished=True), 1,
         "already holds a finished training"),
    case("encode-damaged-model-copy", "prosper-encode", lambda w, t: ["--model", damaged_model_copy(t), "--corpus",
         str(SAMPLE / "products.jsonl"), "--output", str(t / "coll")], 1, "sha256 mismatch", "coll"),
    case("index-impact-negative", "prosper-index", lambda w, t: vector_index_args(t, {"drill": 3, "saw": -2}), 1,
         "docs.jsonl:1: impact -2 of term 'saw' is not an integer from 1", "vidx"),
    case("index-impact-fraction", "prosper-index", lambda w, t: vector_index_args(t, {"drill": 3}, {"saw": 2.7}), 1,
         "docs.jsonl:2: impact 2.7 of term 'saw' is not an integer from 1", "vidx"),
    case("index-impact-huge", "prosper-index", lambda w, t: vector_index_args(t, {"drill": 99_999_999_999}), 1,
         "impact 99999999999 of term 'drill' is not an integer from 1 to 2147483647", "vidx"),
    case("index-impact-nan", "prosper-index", lambda w, t: vector_index_args(t, {"drill": float("nan")}), 1,
         "impact nan of term 'drill'", "vidx"),
    case("index-impact-copies", "prosper-index", lambda w, t: vector_index_args(t, {"drill": 20_000_000}), 1,
         "impacts too large: Anserini writes each impact as that many copies", "vidx"),
    case("index-impact-whole-float", "prosper-index", lambda w, t: vector_index_args(t, {"drill": 3.0}), 0,
         "indexed 1 documents"),
    case("pyserini-failed-search", "prosper-pyserini", lambda w, t: ["search.lucene", "--index", str(t / "nosuch"),
         "--topics", str(w.queries), "--output", str(t / "run.trec"), "--hits", "5"], 1, "ended without writing --output",
         "run.trec"),
    # ---- stack traces become one line
    case("pyserini-no-such-module", "prosper-pyserini", lambda w, t: ["nosuch.module"], 2,
         "no module 'pyserini.nosuch.module' in Pyserini"),
    # ---- refusals name the real cause
    case("eval-qrels-fifth-column", "prosper-eval", lambda w, t: evaluate(t, RUN, "q1 0 d1 2 x\nq2 0 d3 2 x\n"), 1,
         "q.qrels:1: expected 4 columns 'qid 0 docid grade', found 5 (2 of 2 skipped line(s))"),
    case("eval-qrels-float-grades", "prosper-eval", lambda w, t: evaluate(t, RUN, "q1 0 d1 2.0\nq2 0 d3 2.0\n"), 0,
         "MRR@10"),
    case("eval-qrels-fractional-grade", "prosper-eval", lambda w, t: evaluate(t, RUN, "q1 0 d1 2.5\n"), 1,
         "grade '2.5' is not an integer"),
    case("encode-absent-text-field", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, docs("1", "2")),
         "--text-field", "nme"), 1, "corpus.jsonl:1: no text field 'nme' in this line (it has 'id', 'contents')",
         "coll/part-00000.jsonl"),
    case("encode-scale-huge", "prosper-encode", lambda w, t: encode_args(t, *corpus(t, docs("1", "2")), "--scale",
         "1e30"), 1, "above the largest Anserini indexes", "coll/part-00000.jsonl"),
    case("data-gzip-csv", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "train.csv", gzip.compress(
        (SAMPLE / "train.csv").read_bytes())), "--products", str(SAMPLE / "products.jsonl"), "--out", str(t / "out")],
        0, "wrote", then=lambda w, t: (t / "out" / "manifest.json").is_file()),
    case("data-bzip2-csv", "prosper-data", lambda w, t: ["homedepot", "--raw", put(t, "train.csv", b"BZh91AY&SY" + bytes(
        20)), "--out", str(t / "out")], 1, "a bzip2-compressed file; decompress it", "out"),
    # ---- every option's range is checked before any model or JVM starts
    case("search-k-beyond-java-int", "prosper-search", lambda w, t: search_args(w, t, "--k", "99999999999"), 2,
         "--k", "run.trec"),
    case("search-b-nan", "prosper-search", lambda w, t: search_args(w, t, "--b", "nan"), 2, "--b", "run.trec"),
    case("search-recall-queries-negative", "prosper-search", lambda w, t: search_args(w, t, "--recall-queries", "-1"),
         2, "--recall-queries", "run.trec"),
    case("search-name-is-a-path", "prosper-search", lambda w, t: search_args(w, t, "--name", "runs/bm25"), 2,
         "the run tag must be one word (no spaces, no path separators)", "run.trec"),
    # ---- and every combination: an option the rest of the command line makes meaningless is refused
    case("search-model-with-bm25", "prosper-search", lambda w, t: search_args(w, t, "--model", "splade-tiny"), 2,
         "--model only applies to the learned systems", "run.trec"),
    case("search-k1-with-impact", "prosper-search", lambda w, t: search_args(w, t, "--system", "impact", "--k1", "1.2",
         "--encoded-queries", encoded_query_file(t)), 2, "--k1 only applies to --system bm25", "run.trec"),
    case("search-seismic-flag-with-bm25", "prosper-search", lambda w, t: search_args(w, t, "--seismic-heap-factor",
         "0.5"), 2, "--seismic-heap-factor only applies to --system seismic", "run.trec"),
    case("search-milvus-without-uri", "prosper-search", lambda w, t: ["--system", "milvus", "--queries", str(w.queries),
         "--model", "splade-tiny", "--output", str(t / "run.trec")], 2, "--system milvus needs --uri and --collection",
         "run.trec"),
    case("encode-doc-top-k-with-queries", "prosper-encode", lambda w, t: ["--model", splade_tiny_path(), "--queries",
         str(w.queries), "--doc-top-k", "64", "--output", str(t / "q.jsonl")], 2,
         "--doc-top-k only applies to --corpus or --data", "q.jsonl"),
    case("encode-query-top-k-with-corpus", "prosper-encode", lambda w, t: encode_args(t, "--corpus", str(
        SAMPLE / "products.jsonl"), "--query-top-k", "8"), 2, "--query-top-k only applies to --queries", "coll"),
    case("eval-permutations-without-fisher", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--baseline", "sys",
         "--permutations", "50"), 2, "--permutations only applies to --test fisher"),
    case("eval-alpha-without-baseline", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--alpha", "0.01"), 2,
         "--alpha only applies to --baseline"),
    case("encode-torch-threads-zero", "prosper-encode", lambda w, t: encode_args(t, "--corpus", str(
        SAMPLE / "products.jsonl"), "--torch-threads", "0"), 2, "--torch-threads", "coll"),
    case("eval-metric-cutoff-zero", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--metrics", "hit@0"), 1,
         "metric 'hit@0': the cutoff must be at least 1"),
    case("eval-alpha-out-of-range", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--alpha", "1.5"), 2,
         "--alpha"),
    case("eval-permutations-zero", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--permutations", "0"), 2,
         "--permutations"),
    case("eval-threshold-negative", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--threshold", "-1"), 2,
         "--threshold"),
    case("eval-baseline-is-a-path", "prosper-eval", lambda w, t: evaluate(t, RUN, QRELS, "--baseline", "runs/sys.trec"),
         2, "--baseline"),
    case("eval-diff-top-negative", "prosper-eval diff", lambda w, t: [run_file(t, RUN, "a.trec"), run_file(
        t, RUN, "b.trec"), "--qrels", put(t, "q.qrels", QRELS), "--top", "-3"], 2, "--top"),
    case("data-seed-not-an-integer", "prosper-data", lambda w, t: ["sample", "--out", str(t / "out"), "--seed", "1.5"],
         2, "--seed", "out"),
    case("index-threads-zero", "prosper-index", lambda w, t: index_args(w, t, collection(t, docs("1")).name)[:-2]
         + ["--threads", "0"], 2, "-threads must be an integer from 1"),
    case("repro-seed-not-an-integer", "prosper-repro", lambda w, t: repro(w, t, "data.seed=1.5"), 2,
         "data.seed must be an integer, not 1.5", "work"),
    case("repro-metric-cutoff-zero", "prosper-repro", lambda w, t: repro(w, t, "evaluation.metrics=[hit@0]"), 2,
         "the cutoff must be at least 1", "work"),
    case("repro-alpha-out-of-range", "prosper-repro", lambda w, t: repro(w, t, "evaluation.alpha=1.5"), 2,
         "evaluation.alpha must be a number strictly between 0 and 1, not 1.5", "work"),
    case("repro-system-name-is-a-path", "prosper-repro", lambda w, t: repro(w, t, edit=lambda c: c["systems"][0].update(
        name="runs/bm25")), 2, "systems[0].name must be one word", "work"),
    case("repro-negatives-count-negative", "prosper-repro", lambda w, t: repro(w, t, edit=lambda c: c["systems"].append(
        {"name": "p", "type": "sparse", "train": {"config": "prosper", "hard_negatives": {"system": "bm25", "n": -1}}})),
        2, "systems[1].train.hard_negatives.n must be an integer from 0", "work"),
]


def wands(t: Path, good: str, bad: str) -> Path:
    """The WANDS fixture with one product id replaced."""
    folder = t / "wands"
    shutil.copytree(FIXTURES / "wands", folder)
    products = (folder / "product.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    products[1] = products[1].replace(good, bad, 1)
    (folder / "product.csv").write_text("".join(products), encoding="utf-8")
    return folder


def multicpr(t: Path, judge_missing: bool = False) -> Path:
    """The Multi-CPR fixture with a space in the first passage id, or a judgment of a passage it lacks."""
    folder = t / "multicpr"
    shutil.copytree(FIXTURES / "multicpr", folder)
    if judge_missing:
        qrels = folder / "qrels.dev.tsv"
        qid = qrels.read_text(encoding="utf-8").split("\t", 1)[0]
        qrels.write_text(qrels.read_text(encoding="utf-8") + f"{qid}\t0\t999999\t1\n", encoding="utf-8")
        return folder
    corpus_tsv = (folder / "corpus.tsv").read_text(encoding="utf-8")
    (folder / "corpus.tsv").write_text("1 " + corpus_tsv, encoding="utf-8")
    return folder


@pytest.fixture
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPLADE-tiny loaded once for the module; any other name goes through the real loader."""
    import prosper_pyserini.encode.cli as encode_cli

    real = encode_cli.load_model
    monkeypatch.setattr(encode_cli, "load_model",
                        lambda name: cached_load_model(name) if name == splade_tiny_path() else real(name))


def test_the_table_covers_the_issue():
    assert len(CASES) >= 60 and len({c.id for c in CASES + HOSTILE}) == len(CASES) + len(HOSTILE)
    assert {c.code for c in CASES} == {c.code for c in HOSTILE} == {0, 1, 2}


@pytest.mark.parametrize("row", CASES + HOSTILE, ids=[c.id for c in CASES + HOSTILE])
def test_bad_input(row: Case, world: World, tmp_path: Path, _models: None) -> None:
    before = {path: sha256_tree(path) for path in (world.data, world.index)}
    args = row.args(world, tmp_path)
    result = CliRunner().invoke(commands()[row.command], args, env={"PROSPER_DEBUG": ""})
    output = result.output
    assert result.exit_code == row.code, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if ": error: " in line]
    if row.code:
        assert len(errors) == 1 and errors[0].startswith(f"{row.command}: error: "), output
        assert row.fragment in errors[0], output
    else:
        assert not errors and row.fragment in output, output
        warnings = [line for line in output.splitlines() if "warning:" in line.lower()]
        assert all(row.fragment in line for line in warnings), output  # a BOM costs no query, no line
    for path, checksum in before.items():
        assert sha256_tree(path) == checksum, f"{path} changed"
    assert not list(world.index.parent.glob(".index.*")), "a temporary index folder was left behind"
    for name in row.absent:
        assert not (tmp_path / name).exists(), f"{name} was written"
    assert row.then is None or row.then(world, tmp_path)


def test_a_failed_build_leaves_the_old_index_and_a_good_one_replaces_it(world: World, tmp_path: Path) -> None:
    from prosper_pyserini.index.lucene import IndexCountError, run_indexer
    from prosper_pyserini.search.bm25 import bm25_search

    index = tmp_path / "index"
    shutil.copytree(world.index, index)
    bad = collection(tmp_path, jsonl({"id": "n1", "contents": "drill"}, {"id": "n2", "contents": ""}))
    with pytest.raises(IndexCountError):
        run_indexer(["-collection", "JsonCollection", "-input", str(bad), "-index", str(index),
                     "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1"])
    assert sha256_tree(index) == sha256_tree(world.index)
    good = tmp_path / "good"
    put(good, "docs.jsonl", jsonl({"id": "n1", "contents": "cordless drill"}))
    run_indexer(["-collection", "JsonCollection", "-input", str(good), "-index", str(index),
                 "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1"])
    assert list(bm25_search(str(index), {"q": "drill"}, k=10)["q"]) == ["n1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coll", "good", "index"]  # no temporary folder left


def test_debug_shows_the_traceback(world: World, tmp_path: Path) -> None:
    from prosper_pyserini.experiment.cli import main

    args = repro(world, tmp_path, "data.source=prepared", f"data.prepared={tmp_path / 'nowhere'}")
    quiet = CliRunner().invoke(main, args, env={"PROSPER_DEBUG": ""})
    loud = CliRunner().invoke(main, args, env={"PROSPER_DEBUG": "1"})
    verbose = CliRunner().invoke(main, ["-v", *args], env={"PROSPER_DEBUG": ""})
    assert quiet.exit_code == loud.exit_code == verbose.exit_code == 1
    assert "Traceback" not in quiet.output and "Traceback" in loud.output and "Traceback" in verbose.output
    assert "prosper-repro: error: " in loud.output.splitlines()[-1]


@pytest.mark.slow
def test_ctrl_c_during_encode_is_one_line_exit_130_and_resumable(tmp_path: Path) -> None:
    """Ctrl-C while ``prosper-repro`` encodes (the JVM already up for BM25): one line, exit 130, no JVM crash log,
    and the same command then finishes (issue 36)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    config = yaml.safe_load((ROOT / "eval" / "sample.yaml").read_text())
    config.update(work_dir=str(tmp_path / "work"), runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "rep"))
    config["systems"] = [s for s in config["systems"] if s["name"] in ("bm25", "splade-tiny-zs")]
    path = put(tmp_path, "exp.yaml", yaml.safe_dump(config))
    command = [sys.executable, "-m", "prosper_pyserini.experiment.cli", "--config", path]
    env = {**os.environ, "PROSPER_DEBUG": ""}
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "work" / "collections" / "splade-tiny-zs.partial"
    deadline = time.monotonic() + 300
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the experiment ended before its encode step began"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        "prosper-repro: interrupted; rerun the same command to continue"), err[-2000:]
    assert not list(tmp_path.glob("hs_err_pid*.log")), "the JVM crashed"
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "runs" / "splade-tiny-zs.trec").is_file()
