"""Readers and writers for the files users already have: corpus JSONL/TSV, queries TSV, TREC qrels and runs.

Every reader reports bad input as ``FILE:LINE: what is wrong`` (:class:`InputError`). Where the caller
asks for ``on_error="skip"``, bad lines are skipped, counted in a :class:`SkipReport` and summarised, never
dropped silently. Every writer is atomic: a reader of the output sees the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Literal, Mapping, Sequence

log = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


class InputError(ValueError):
    """Bad input, located at a file and line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str):
        self.path, self.line, self.reason = str(path), line, message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class SkipReport:
    """Counts of skipped lines by reason, for the one-line summary a user is owed."""

    path: str
    reasons: Counter[str] = field(default_factory=Counter)
    first: dict[str, int] = field(default_factory=dict)

    def add(self, error: InputError) -> None:
        self.reasons[error.reason] += 1
        self.first.setdefault(error.reason, error.line or 0)

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    def summary(self) -> str:
        parts = [f"{n} × {reason} (first at line {self.first[reason]})" for reason, n in self.reasons.most_common()]
        return f"{self.path}: skipped {self.total} line(s): " + "; ".join(parts)


class _Policy:
    def __init__(self, path: str | os.PathLike[str], on_error: OnError, report: SkipReport | None):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.path, self.on_error = str(path), on_error
        self.report = report if report is not None else SkipReport(self.path)

    def fail(self, line: int | None, message: str) -> None:
        error = InputError(self.path, line, message)
        if self.on_error == "raise":
            raise error
        self.report.add(error)

    def close(self) -> None:
        if self.report.total:
            log.warning(self.report.summary())


# --------------------------------------------------------------------------------------------- files

BOM = "\ufeff"


def id_problem(value: str, what: str = "id") -> str | None:
    """Why ``value`` cannot be an id, or None: whitespace inside an id splits a TREC run line in two."""
    if any(ch.isspace() for ch in value):
        return f"{what} {value!r} contains whitespace (a TREC run line would split there)"
    return None


def text_problem(value: str, what: str = "text") -> str | None:
    """Why ``value`` cannot be written as UTF-8, or None: a lone surrogate (JSON ``"\\ud800"``) decodes but
    fails every later write, after the work it took to get there."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{what} holds a lone surrogate {value[exc.start]!r}, which is not valid Unicode"
    return None


def open_text(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a plain or gzipped file for binary reading (decoding is per line, to locate bad bytes)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "no such file")
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _lines(path: str | os.PathLike[str], policy: _Policy) -> Iterator[tuple[int, str]]:
    """Decoded, non-blank lines with their 1-based numbers; undecodable lines go to the policy."""
    with open_text(path) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                policy.fail(number, f"not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})")
                continue
            if number == 1:
                line = line.removeprefix(BOM)  # a BOM is not part of the first id
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line


def overlaps(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether one of two paths is the other or lies inside it (links and ``..`` resolved): an output that
    overlaps an input would write over it, or be replaced together with it."""
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make outputs private to their writer
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def replace_dir(new: str | os.PathLike[str], target: str | os.PathLike[str], aside: str | os.PathLike[str]) -> None:
    """Move the finished directory ``new`` to ``target`` by renames, never leaving ``target`` half written.

    A directory already at ``target`` is first renamed to ``aside`` and removed only once the new one is in
    place, so a kill between the two renames leaves a whole old copy at ``aside`` (the caller may put it back)
    and a failed second rename leaves it there too.

    Args:
        new: the finished directory, on the same filesystem as ``target``.
        target: where it goes.
        aside: where an old ``target`` waits; removed first if a previous swap left it.
    """
    new, target, aside = Path(new), Path(target), Path(aside)
    if target.exists():
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(target, aside)
    os.replace(new, target)
    shutil.rmtree(aside, ignore_errors=True)


# -------------------------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Doc:
    id: str
    text: str


def read_corpus(
    path: str | os.PathLike[str],
    id_field: str = "id",
    text_fields: Sequence[str] | None = None,
    on_error: OnError = "raise",
    report: SkipReport | None = None,
) -> Iterator[Doc]:
    """Stream documents from JSONL (``id`` + text fields) or TSV (``id<TAB>text``).

    ``text_fields`` are joined with a space; by default JSONL uses ``contents``, ``title`` or ``text``,
    whichever the first line has. Malformed lines, missing ids, duplicate ids, empty texts and non-UTF-8
    bytes are errors (or counted skips with ``on_error="skip"``).
    """
    policy = _Policy(path, on_error, report)
    seen: set[str] = set()
    suffixes = Path(path).suffixes
    tsv = ".tsv" in suffixes or ".txt" in suffixes
    fields = list(text_fields) if text_fields else None
    for number, line in _lines(path, policy):
        if tsv:
            doc_id, sep, text = line.partition("\t")
            if not sep:
                policy.fail(number, "expected 'id<TAB>text'")
                continue
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                policy.fail(number, f"malformed JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                policy.fail(number, "expected a JSON object")
                continue
            if fields is None:
                fields = [next((f for f in ("contents", "title", "text") if f in obj), "contents")]
            elif text_fields and not any(f in obj for f in fields):   # a misspelt --text-field, not an empty text
                policy.fail(number, f"no text field {', '.join(map(repr, fields))} in this line "
                                    f"(it has {', '.join(map(repr, obj)) or 'no fields'})")
                continue
            raw_id = obj.get(id_field)
            doc_id = "" if raw_id is None else str(raw_id)
            text = " ".join(str(obj[f]) for f in fields if obj.get(f) not in (None, ""))
        doc_id = doc_id.strip()
        if not doc_id:
            policy.fail(number, f"missing id field {id_field!r}")
            continue
        if problem := id_problem(doc_id):
            policy.fail(number, problem)
            continue
        if doc_id in seen:
            policy.fail(number, f"duplicate id {doc_id!r}")
            continue
        if not text.strip():
            policy.fail(number, f"empty text for id {doc_id!r}")
            continue
        if problem := text_problem(doc_id, "id") or text_problem(text, f"text for id {doc_id!r}"):
            policy.fail(number, problem)
            continue
        seen.add(doc_id)
        yield Doc(doc_id, text.strip())
    policy.close()


def write_corpus_jsonl(docs: Iterable[Doc], path: str | os.PathLike[str]) -> int:
    """Anserini ``JsonCollection`` layout: one ``{"id", "contents"}`` object a line."""
    count = 0
    with atomic_write(path) as out:
        for doc in docs:
            out.write(json.dumps({"id": doc.id, "contents": doc.text}, ensure_ascii=False) + "\n")
            count += 1
    return count


# ------------------------------------------------------------------------------------------- queries


def read_queries(
    path: str | os.PathLike[str], on_error: OnError = "raise", report: SkipReport | None = None
) -> dict[str, str]:
    """Queries TSV ``qid<TAB>text`` (JSONL with ``id``/``text`` also accepted), in file order."""
    policy = _Policy(path, on_error, report)
    queries: dict[str, str] = {}
    jsonl = ".jsonl" in Path(path).suffixes or ".json" in Path(path).suffixes
    for number, line in _lines(path, policy):
        if jsonl:
            try:
                obj = json.loads(line)
                qid, text = str(obj.get("id", obj.get("qid", ""))), str(obj.get("text", obj.get("contents", "")))
            except (json.JSONDecodeError, AttributeError):
                policy.fail(number, "malformed JSON")
                continue
        else:
            qid, sep, text = line.partition("\t")
            if not sep:
                policy.fail(number, "expected 'qid<TAB>text'")
                continue
        qid = qid.strip()
        if not qid:
            policy.fail(number, "missing query id")
        elif problem := id_problem(qid, "query id"):
            policy.fail(number, problem)
        elif qid in queries:
            policy.fail(number, f"duplicate query id {qid!r}")
        elif not text.strip():
            policy.fail(number, f"empty text for query {qid!r}")
        elif problem := text_problem(qid, "query id") or text_problem(text, f"text for query {qid!r}"):
            policy.fail(number, problem)
        else:
            queries[qid] = text
    policy.close()
    return queries


def write_queries(queries: Mapping[str, str], path: str | os.PathLike[str]) -> None:
    with atomic_write(path) as out:
        for qid, text in queries.items():
            if "\t" in text or "\n" in text:
                text = " ".join(text.split())
            out.write(f"{qid}\t{text}\n")


# --------------------------------------------------------------------------------------------- qrels


def read_qrels(path: str | os.PathLike[str], on_error: OnError = "raise", report: SkipReport | None = None) -> Qrels:
    """TREC qrels ``qid iter docid grade`` (graded, integer grades)."""
    policy = _Policy(path, on_error, report)
    qrels: Qrels = {}
    for number, line in _lines(path, policy):
        parts = line.split()
        if len(parts) != 4:
            policy.fail(number, f"expected 4 columns 'qid 0 docid grade', found {len(parts)}")
            continue
        qid, _, docid, grade = parts
        value = whole_number(grade)
        if value is None:
            policy.fail(number, f"grade {grade!r} is not an integer")
            continue
        if value < 0:
            policy.fail(number, f"grade {value} is negative (grades are 0 = not relevant and up)")
            continue
        judged = qrels.setdefault(qid, {})
        if docid in judged:
            policy.fail(number, f"duplicate judgment ({qid}, {docid})")
            continue
        judged[docid] = value
    policy.close()
    return qrels


def whole_number(text: str) -> int | None:
    """``"2"`` or ``"2.0"`` (as trec_eval reads a grade) → 2; anything else (``"2.5"``, ``"nan"``, ``"high"``) → None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def write_qrels(qrels: Mapping[str, Mapping[str, int]], path: str | os.PathLike[str]) -> None:
    with atomic_write(path) as out:
        for qid, judged in qrels.items():
            for docid, grade in judged.items():
                out.write(f"{qid} 0 {docid} {int(grade)}\n")


# ---------------------------------------------------------------------------------------------- runs


RUN_COLUMNS = {6: "TREC 'qid Q0 docid rank score tag'", 3: "MS MARCO 'qid docid rank'"}


def read_run(path: str | os.PathLike[str], on_error: OnError = "raise", report: SkipReport | None = None) -> Run:
    """A TREC run (``qid Q0 docid rank score tag``) or an MS MARCO run (``qid docid rank``), by its first row.

    TREC rows are kept by score (their ranks are not trusted); an MS MARCO row's score is ``1/rank``, so the
    file's own order is kept. Every row must have the first row's column count.
    """
    policy = _Policy(path, on_error, report)
    run: Run = {}
    columns = None
    for number, line in _lines(path, policy):
        parts = line.split()
        if columns is None and len(parts) in RUN_COLUMNS:
            columns = len(parts)
        if len(parts) != columns:
            expected = f"expected {columns} columns" if columns else \
                "expected 6 columns (TREC 'qid Q0 docid rank score tag') or 3 (MS MARCO 'qid docid rank')"
            policy.fail(number, f"{expected}, found {len(parts)}")
            continue
        if columns == 3:
            qid, docid, rank = parts
            if not rank.isdigit() or int(rank) < 1:
                policy.fail(number, f"rank {rank!r} is not a positive integer")
                continue
            score = repr(1.0 / int(rank))
        else:
            qid, _, docid, _, score, _ = parts
        try:
            value = float(score)
        except ValueError:
            policy.fail(number, f"score {score!r} is not a number")
            continue
        if value != value:  # NaN
            policy.fail(number, "score is NaN")
            continue
        if value in (float("inf"), float("-inf")):  # would sort first (or last) whatever the ranking
            policy.fail(number, f"score {score!r} is infinite")
            continue
        ranked = run.setdefault(qid, {})
        if docid in ranked:
            policy.fail(number, f"duplicate row ({qid}, {docid})")
            continue
        ranked[docid] = value
    policy.close()
    return run


SCORE_DECIMALS = 6   # a run file's score precision; ranks are computed on the scores as written


def ranked(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """``(docid, score)`` best first, ties by docid DESCENDING: trec_eval's order.

    The one order every run is read, cut, evaluated and written in, so a tied run scores the same here as
    under trec_eval (which sorts by score, then docno in reverse ``strcmp`` order, whatever the file's ranks).
    """
    return sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)


def run_checksum(path: str | os.PathLike[str]) -> str:
    """sha256 of a run as every reader here sees it: queries by id, each one's (docid, score) in :func:`ranked` order.

    Two files that differ only in how tied scores were written (their line order, e.g. from before the
    trec_eval tie order) get one checksum, so a model trained from one is not trained again from the other.
    """
    digest = hashlib.sha256()
    for qid, scores in sorted(read_run(path).items()):
        for docid, score in ranked(scores):
            digest.update(f"{qid} {docid} {score!r}\n".encode())
    return digest.hexdigest()


def write_run(run: Mapping[str, Mapping[str, float]], path: str | os.PathLike[str], tag: str,
              output_format: Literal["trec", "msmarco"] = "trec") -> None:
    """A run in :func:`ranked` order of the scores as printed, so the file agrees with its own re-sort.

    ``trec``: ``qid Q0 docid rank score tag``; ``msmarco``: ``qid<TAB>docid<TAB>rank`` (Pyserini's
    ``--output-format msmarco``).
    """
    if not tag or any(ch.isspace() for ch in tag):
        raise ValueError(f"run tag must be one non-empty word, not {tag!r}")
    if output_format not in ("trec", "msmarco"):
        raise ValueError(f"output format must be trec or msmarco, not {output_format!r}")
    with atomic_write(path) as out:
        for qid, scores in run.items():
            ordered = ranked({d: round(float(s), SCORE_DECIMALS) for d, s in scores.items()})
            for rank, (docid, score) in enumerate(ordered, start=1):
                out.write(f"{qid} Q0 {docid} {rank} {score:.{SCORE_DECIMALS}f} {tag}\n" if output_format == "trec"
                          else f"{qid}\t{docid}\t{rank}\n")
