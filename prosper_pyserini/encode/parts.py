"""The part files of a ``JsonVectorCollection`` folder, and the seal that says they are complete.

``prosper-encode`` writes ``collections/NAME/part-*.jsonl`` and, beside the folder, ``NAME.settings.json``
(what the parts are made with, and each finished part's line count and SHA-256) and, once every part exists
and checked out, ``NAME.summary.json``: the seal. A reader never trusts a collection that ``prosper-encode``
has not sealed (a killed encode leaves settings and some parts, no summary), nor one whose parts changed
after it was sealed. A folder with no settings beside it was not made by ``prosper-encode`` and is read as
it is. Kept free of torch: the indexer and the search backends read collections without a model.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

from prosper_pyserini.checksums import sha256_file as file_sha256
from prosper_pyserini.data.formats import InputError

# JsonVectorCollection reads each impact with Jackson's asInt() (2.7 becomes 2, a negative one vanishes) and writes
# it as that many copies of the term, so an impact is a positive int and one document's copies must fit in memory
MAX_IMPACT = 2**31 - 1
MAX_DOCUMENT_COPIES = 2**24   # characters of the repeated-term text Anserini builds for one document


def part_name(k: int) -> str:
    return f"part-{k:05d}.jsonl"


def read_vectors(folder: str | os.PathLike[str], sealed: bool = True) -> Iterator[tuple[str, dict[str, int]]]:
    """``(id, vector)`` of every document in a collection folder, parts in name order.

    Args:
        sealed: first refuse a collection ``prosper-encode`` has not sealed (:func:`check_sealed`); only the
            encoder itself reads its parts before the seal.
    """
    for _, _, doc_id, vector in read_vector_lines(folder, sealed):
        yield doc_id, vector


def read_vector_lines(folder: str | os.PathLike[str], sealed: bool = True
                      ) -> Iterator[tuple[Path, int, str, dict[str, int]]]:
    """``(part file, line number, id, vector)`` of every document: :func:`read_vectors` with where each came from."""
    if sealed:
        check_sealed(folder)
    for path in sorted(Path(folder).glob("part-*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    obj = json.loads(line)
                    doc_id, vector = str(obj["id"]), obj["vector"]
                except (json.JSONDecodeError, KeyError) as exc:
                    raise InputError(path, number, f"not a JsonVectorCollection line ({exc})") from exc
                yield path, number, doc_id, vector


def metadata_path(folder: str | os.PathLike[str], kind: str) -> Path:
    """``collections/NAME`` → ``collections/NAME.{kind}.json`` (outside the folder Anserini reads)."""
    folder = Path(folder)
    return folder.parent / f"{folder.name}.{kind}.json"


def part_problem(path: Path, record: dict[str, Any] | None) -> str | None:
    """Why a part file on disk is not the part that was recorded, or None when it is."""
    if record is None:
        return "no line count and checksum recorded for it"
    with open(path, "rb") as handle:
        lines = sum(1 for _ in handle)
    if lines != record.get("lines"):
        return f"{lines} lines where {record.get('lines')} were written"
    if file_sha256(path) != record.get("sha256"):
        return "its SHA-256 differs from the one recorded when it was written"
    return None


PART_FILE = re.compile(r"part-\d{5}\.jsonl|\.part-\d{5}\.jsonl\..*\.tmp")  # parts and workers' temporary files


def check_folder(folder: Path, allowed: re.Pattern[str] = PART_FILE) -> None:
    """Refuse a folder holding files that are not parts: Anserini would index them (checked before encoding)."""
    stray = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.parent != folder or not allowed.fullmatch(p.name))
    if stray:
        raise InputError(folder, None, f"files that are not parts of this collection (Anserini would index them): "
                                       f"{', '.join(stray[:5])}")


def check_sealed(folder: str | os.PathLike[str]) -> None:
    """Refuse a ``prosper-encode`` collection that is unfinished, or whose parts changed after it was sealed.

    Raises:
        InputError: naming the folder and what is wrong (missing summary, a part changed, a stray file).
    """
    folder = Path(folder)
    summary_path, settings_path = metadata_path(folder, "summary"), metadata_path(folder, "settings")
    if not summary_path.is_file():
        if settings_path.is_file():
            done = len(list(folder.glob("part-*.jsonl")))
            raise InputError(folder, None, f"prosper-encode has not finished this collection ({done} part file(s), "
                                           f"no {summary_path.name}); rerun the same prosper-encode to complete it")
        return
    try:
        records = json.loads(summary_path.read_text(encoding="utf-8")).get("part_records")
    except (json.JSONDecodeError, AttributeError):
        raise InputError(summary_path, None, "not a prosper-encode summary (malformed JSON)") from None
    if not records:   # a summary written by hand (a model checksum only): nothing recorded to check against
        return
    check_folder(folder, re.compile("|".join(re.escape(name) for name in records)))
    for name, record in records.items():
        path = folder / name
        problem = part_problem(path, record) if path.is_file() else "missing"
        if problem:
            raise InputError(path, None, f"{problem} since prosper-encode sealed the collection; encode it again")
