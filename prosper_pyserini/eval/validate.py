"""Read and check TREC runs and qrels, counting every problem instead of dropping anything silently.

Problems a researcher must know about before trusting a number: lines that could not be parsed (bad
columns, non-numeric or NaN scores, duplicate ``(qid, docid)`` rows, non-UTF-8 bytes), run queries that are
not in the qrels, evaluated queries the run has no results for (they score zero), and tied scores (ranx
would order tied documents arbitrarily, so we break ties by docid, descending, as trec_eval and
``formats.write_run`` do).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from prosper_pyserini.data import formats
from prosper_pyserini.data.formats import InputError, Qrels, Run, SkipReport

# Skip reasons from ``formats`` carry the offending ids; these patterns fold them into countable kinds.
_KINDS = [
    (re.compile(r"^duplicate row"), "duplicate (qid, docid) rows"),
    (re.compile(r"^duplicate judgment"), "duplicate (qid, docid) judgments"),
    (re.compile(r"^score .* is not a number"), "non-numeric scores"),
    (re.compile(r"^score is NaN"), "NaN scores"),
    (re.compile(r"^score .* is infinite"), "infinite scores"),
    (re.compile(r"^grade .* is negative"), "negative grades"),
    (re.compile(r"^grade .* is not an integer"), "non-integer grades"),
    (re.compile(r"^expected \d+ columns"), "lines with the wrong number of columns"),
    (re.compile(r"^rank .* is not a positive integer"), "MS MARCO ranks that are not positive integers"),
    (re.compile(r"^not UTF-8"), "non-UTF-8 lines"),
]


def _kind(reason: str) -> str:
    return next((kind for pattern, kind in _KINDS if pattern.search(reason)), reason)


class _KindReport(SkipReport):
    """A ``SkipReport`` that also counts by kind of problem (one count per kind, not per offending id)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.kinds: Counter[str] = Counter()
        self.first_kind: dict[str, int] = {}

    def add(self, error: InputError) -> None:
        super().add(error)
        kind = _kind(error.reason)
        self.kinds[kind] += 1
        self.first_kind.setdefault(kind, error.line or 0)


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


@contextlib.contextmanager
def _quiet_formats() -> Iterator[None]:
    """``formats`` logs one warning listing every distinct skipped id; we print counted kinds instead."""
    logger, quiet = logging.getLogger(formats.__name__), _Quiet()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@dataclass
class ValidationReport:
    """Counts of everything odd in one input file, and the messages a user reads (one line each)."""

    path: str
    kind: str  # "run" or "qrels"
    rows: int = 0
    queries: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # kind of bad line -> count
    first_line: dict[str, int] = field(default_factory=dict)
    unknown_queries: int = 0  # run: queries absent from the qrels (ignored)
    unjudged_relevant_queries: int = 0  # run: queries in qrels but without a relevant doc (not evaluated)
    missing_queries: int = 0  # run: evaluated queries the run lacks (score zero)
    tied_queries: int = 0  # run: queries where two or more docs share a score
    tied_rows: int = 0
    no_relevant_queries: int = 0  # qrels: queries with no doc at or above the threshold (not evaluated)
    evaluated_queries: int = 0

    def messages(self) -> list[str]:
        """One line per problem, each with its count; empty when the file is clean."""
        out = [
            f"{self.path}: skipped {n} {kind} (first at line {self.first_line[kind]})"
            for kind, n in self.skipped.items()
        ]
        if self.unknown_queries:
            out.append(f"{self.path}: {self.unknown_queries} run queries are not in the qrels (ignored)")
        if self.unjudged_relevant_queries:
            out.append(
                f"{self.path}: {self.unjudged_relevant_queries} run queries have no relevant judged doc (not evaluated)"
            )
        if self.missing_queries:
            out.append(
                f"{self.path}: {self.missing_queries} of {self.evaluated_queries} evaluated queries missing from "
                "the run (scored 0)"
            )
        if self.tied_queries:
            out.append(
                f"{self.path}: {self.tied_queries} queries have tied scores ({self.tied_rows} rows); "
                "ties broken by docid, descending (as trec_eval)"
            )
        if self.no_relevant_queries:
            out.append(
                f"{self.path}: {self.no_relevant_queries} queries have no relevant doc at the threshold (not evaluated)"
            )
        return out

    def counts(self) -> dict[str, object]:
        """Plain numbers for the JSON output."""
        data = {k: v for k, v in self.__dict__.items() if k not in ("first_line",)}
        data["skipped_total"] = sum(self.skipped.values())
        return data


def _from_skips(path: str, kind: str, report: _KindReport) -> ValidationReport:
    return ValidationReport(
        path=path, kind=kind, skipped=dict(report.kinds.most_common()), first_line=dict(report.first_kind)
    )


def load_qrels(path: str | os.PathLike[str], threshold: int) -> tuple[Qrels, ValidationReport]:
    """Read qrels (bad lines counted and skipped); fail if no query has a doc graded ``>= threshold``."""
    skips = _KindReport(str(path))
    with _quiet_formats():
        qrels = formats.read_qrels(path, on_error="skip", report=skips)
    report = _from_skips(str(path), "qrels", skips)
    report.rows = sum(len(judged) for judged in qrels.values())
    report.queries = len(qrels)
    report.evaluated_queries = len(evaluated_queries(qrels, threshold))
    report.no_relevant_queries = report.queries - report.evaluated_queries
    if not report.evaluated_queries:
        if skips.total:   # the lines were there, but unreadable: say why, not that nothing was relevant
            reason, n = skips.reasons.most_common(1)[0]
            raise InputError(path, skips.first[reason], f"{reason} ({n} of {skips.total} skipped line(s)); "
                                                        "no readable judgment is left to evaluate")
        raise InputError(path, None, f"no query has a judged doc with grade >= {threshold}; nothing to evaluate")
    return qrels, report


def evaluated_queries(qrels: Qrels, threshold: int) -> list[str]:
    """The queries every metric averages over: those with at least one doc graded ``>= threshold``."""
    return sorted(qid for qid, judged in qrels.items() if any(g >= threshold for g in judged.values()))


def count_ties(run: Run) -> tuple[int, int]:
    """(queries with a tie, rows involved in a tie)."""
    queries = rows = 0
    for ranked in run.values():
        counts = Counter(ranked.values())
        tied = sum(n for n in counts.values() if n > 1)
        if tied:
            queries += 1
            rows += tied
    return queries, rows


def load_run(path: str | os.PathLike[str], qrels: Qrels, eval_qids: list[str]) -> tuple[Run, ValidationReport]:
    """Read a run (bad lines counted and skipped) and check it against the qrels.

    A run that shares no query with the evaluated queries is an error: every number would be zero, which
    almost always means the wrong qrels file or a different query-id scheme.
    """
    skips = _KindReport(str(path))
    with _quiet_formats():
        run = formats.read_run(path, on_error="skip", report=skips)
    report = _from_skips(str(path), "run", skips)
    report.rows = sum(len(ranked) for ranked in run.values())
    report.queries = len(run)
    if not run:
        raise InputError(path, None, "no valid run rows")
    evaluated = set(eval_qids)
    report.unknown_queries = sum(1 for qid in run if qid not in qrels)
    report.unjudged_relevant_queries = sum(1 for qid in run if qid in qrels and qid not in evaluated)
    report.evaluated_queries = len(evaluated)
    report.missing_queries = sum(1 for qid in evaluated if qid not in run)
    if report.missing_queries == len(evaluated):
        example = next(iter(run))
        raise InputError(
            path, None,
            f"no query in common with the {len(evaluated)} evaluated qrels queries (run has e.g. {example!r})",
        )
    report.tied_queries, report.tied_rows = count_ties(run)
    return run, report


def system_name(path: str | os.PathLike[str]) -> str:
    """A run's display name: the file name without ``.gz`` and the last extension."""
    name = Path(path).name
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).stem or name
