"""The prepared dataset folder: the one layout every loader writes and every later stage reads.

```
DIR/corpus/products.jsonl          {"id", "contents"}  (Anserini JsonCollection)
DIR/queries.{train,dev,all}.tsv    qid<TAB>text
DIR/qrels.{train,dev,all}.txt      qid 0 docid grade   (grades 0/1/2; relevant = grade >= 2)
DIR/manifest.json                  source, counts, seed, dev fraction, sha256 of every file
```

The train/dev split is by query and depends only on the query ids and the seed (a SHA-256 ordering), so
the same seed gives the same split on any machine and Python version. The manifest has no timestamps:
preparing the same input twice gives byte-identical folders, which the checksums then prove.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Container, Iterable, Iterator, Mapping

from prosper_pyserini import __version__
from prosper_pyserini.checksums import sha256_file
from prosper_pyserini.data.formats import (
    Doc,
    InputError,
    Qrels,
    atomic_write,
    read_corpus,
    read_qrels,
    read_queries,
    write_corpus_jsonl,
    write_qrels,
    write_queries,
)

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "all")
FORMAT = "prosper-prepared/1"
RELEVANT_GRADE = 2
DEFAULT_SEED = 13
DEFAULT_DEV_FRACTION = 0.1


@dataclass(frozen=True)
class PreparedDataset:
    """Paths of a prepared dataset folder, plus small readers for its files."""

    root: Path

    @property
    def corpus(self) -> Path:
        return self.root / "corpus" / "products.jsonl"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def queries_path(self, split: str = "all") -> Path:
        return self.root / f"queries.{_check_split(split)}.tsv"

    def qrels_path(self, split: str = "all") -> Path:
        return self.root / f"qrels.{_check_split(split)}.txt"

    def files(self) -> list[Path]:
        """Every data file (not the manifest), in manifest order."""
        return [self.corpus] + [self.queries_path(s) for s in SPLITS] + [self.qrels_path(s) for s in SPLITS]

    @classmethod
    def load(cls, root: str | os.PathLike[str], verify: bool = False) -> "PreparedDataset":
        """Open a prepared folder, failing with the first missing file (and, if asked, a checksum mismatch)."""
        dataset = cls(Path(root))
        if not dataset.root.is_dir():
            raise InputError(dataset.root, None, "no such prepared dataset folder (create one with `prosper-data`)")
        for path in [*dataset.files(), dataset.manifest_path]:
            if not path.is_file():
                raise InputError(path, None, "missing from the prepared dataset folder (re-run `prosper-data`)")
        if verify:
            dataset.verify()
        return dataset

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(self.manifest_path, exc.lineno, f"malformed JSON ({exc.msg})") from None

    def verify(self) -> None:
        """Recompute every file's SHA-256 and compare with the manifest (catches edited or truncated files)."""
        recorded = self.manifest().get("files", {})
        for path in self.files():
            rel = path.relative_to(self.root).as_posix()
            if rel not in recorded:
                raise InputError(self.manifest_path, None, f"no checksum recorded for {rel}")
            if sha256_file(path) != recorded[rel]:
                raise InputError(path, None, "SHA-256 differs from manifest.json (file changed after preparing)")

    def queries(self, split: str = "all") -> dict[str, str]:
        return read_queries(self.queries_path(split))

    def qrels(self, split: str = "all") -> Qrels:
        return read_qrels(self.qrels_path(split))

    def docs(self) -> Iterator[Doc]:
        return read_corpus(self.corpus, text_fields=["contents"])

    def texts(self) -> dict[str, str]:
        """Product id → text for the whole catalogue (what training batches and validation encode)."""
        if not self.corpus.is_file():
            raise InputError(self.corpus, None, "no such file (is --data a prepared dataset folder?)")
        return {doc.id: doc.text for doc in self.docs()}

    def judged_split(self, split: str, corpus_ids: Container[str]) -> tuple[dict[str, str], Qrels]:
        """A split's queries and qrels, every judged product checked to be one of ``corpus_ids``."""
        queries, qrels = self.queries(split), self.qrels(split)
        missing = sorted({d for judged in qrels.values() for d in judged if d not in corpus_ids})
        if missing:
            raise InputError(self.qrels_path(split), None,
                             f"{len(missing)} judged doc id(s) not in the corpus, e.g. {missing[0]!r}")
        return queries, qrels


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    return split


# --------------------------------------------------------------------------------------------- split


def split_queries(
    qids: Iterable[str], seed: int = DEFAULT_SEED, dev_fraction: float = DEFAULT_DEV_FRACTION, dev_size: int | None = None
) -> dict[str, str]:
    """Assign each query id to "train" or "dev", deterministically from the ids and the seed alone.

    Queries are ordered by SHA-256 of ``"{seed}:{qid}"`` and the first ``dev_size`` (default
    ``round(dev_fraction * n)``) go to dev. Unlike ``random.shuffle`` this does not depend on input order,
    Python version or platform, and adding queries never moves an existing one across unless it is displaced
    at the dev boundary.
    """
    unique = sorted(set(qids))
    if dev_size is None:
        if not 0.0 <= dev_fraction < 1.0:
            raise ValueError(f"dev fraction must be in [0, 1), not {dev_fraction}")
        dev_size = round(dev_fraction * len(unique))
    if not 0 <= dev_size <= len(unique):
        raise ValueError(f"dev size must be between 0 and the number of queries ({len(unique)}), not {dev_size}")
    order = sorted(unique, key=lambda qid: (hashlib.sha256(f"{seed}:{qid}".encode("utf-8")).hexdigest(), qid))
    dev = set(order[:dev_size])
    return {qid: "dev" if qid in dev else "train" for qid in unique}


# --------------------------------------------------------------------------------------------- write


def _grade_counts(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    counts = Counter(grade for judged in qrels.values() for grade in judged.values())
    return {str(grade): counts[grade] for grade in sorted(counts)}


def write_prepared(
    out: str | os.PathLike[str],
    *,
    source: Mapping[str, Any],
    docs: Iterable[Doc],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    seed: int = DEFAULT_SEED,
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    dev_size: int | None = None,
    splits: Mapping[str, str] | None = None,
    stats: Mapping[str, Any] | None = None,
    drop_missing_products: bool = False,
) -> PreparedDataset:
    """Write a prepared folder; every judged query lands in exactly one of train/dev.

    ``splits`` (qid → "train"/"dev") overrides the seeded split, for data sets with an official one.
    Queries without judgments are left out (and counted); a judgment of a product missing from the corpus,
    or a grade outside 0..2, is an error: the folder must be self-consistent for every later stage. With
    ``drop_missing_products`` such judgments are dropped instead and counted in the manifest's stats (for
    sources whose loader leaves out products without text). A callable stats value is called once the
    corpus is written (for counts made while streaming it).

    Everything is written into a temporary folder beside ``out`` and moved in only when all of it is made:
    a failure half-way (a missing product, found after the corpus is written) leaves an existing folder as
    it was, not with a new corpus under an old manifest.
    """
    final = PreparedDataset(Path(out))
    final.root.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{final.root.name}.", suffix=".building", dir=final.root.parent))
    try:
        _write_into(PreparedDataset(building), source=source, docs=docs, queries=queries, qrels=qrels, seed=seed,
                    dev_fraction=dev_fraction, dev_size=dev_size, splits=splits, stats=stats,
                    drop_missing_products=drop_missing_products)
        made = PreparedDataset(building)
        for path in [*made.files(), made.manifest_path]:  # the manifest last: it vouches for the others
            target = final.root / path.relative_to(building)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    manifest = final.manifest()
    log.info("prepared %s: %d products, %d train / %d dev queries", final.root, manifest["counts"]["products"],
             manifest["counts"]["queries"]["train"], manifest["counts"]["queries"]["dev"])
    return final


def _write_into(
    dataset: PreparedDataset,
    *,
    source: Mapping[str, Any],
    docs: Iterable[Doc],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    seed: int,
    dev_fraction: float,
    dev_size: int | None,
    splits: Mapping[str, str] | None,
    stats: Mapping[str, Any] | None,
    drop_missing_products: bool,
) -> None:
    stats = dict(stats or {})
    for qid, judged in qrels.items():
        if qid not in queries:
            raise ValueError(f"judgments for query {qid!r}, which has no text")
        bad = [g for g in judged.values() if g not in (0, 1, 2)]
        if bad:
            raise ValueError(f"query {qid!r}: grade {bad[0]!r} is not 0, 1 or 2")

    judged_docs = {docid for judged in qrels.values() for docid in judged}
    seen: set[str] = set()

    def tracked() -> Iterator[Doc]:
        for doc in docs:
            if doc.id in seen:
                raise ValueError(f"duplicate product id {doc.id!r} in the corpus")
            seen.add(doc.id)
            yield doc

    n_docs = write_corpus_jsonl(tracked(), dataset.corpus)
    missing = judged_docs - seen
    if missing and drop_missing_products:
        stats["judgments_of_missing_products"] = sum(1 for judged in qrels.values() for d in judged if d in missing)
        qrels = {qid: {d: g for d, g in judged.items() if d in seen} for qid, judged in qrels.items()}
    elif missing:
        example = sorted(missing)[0]
        raise ValueError(f"{len(missing)} judged product id(s) are not in the corpus (e.g. {example!r})")

    judged_qids = [qid for qid in queries if qrels.get(qid)]
    if splits is None:
        assignment = split_queries(judged_qids, seed=seed, dev_fraction=dev_fraction, dev_size=dev_size)
        split_method = f"sha256(seed:qid) order, first {'dev_size' if dev_size is not None else 'round(dev_fraction*n)'} to dev"
    else:
        unknown = {s for s in splits.values()} - {"train", "dev"}
        if unknown:
            raise ValueError(f"split labels must be 'train' or 'dev', not {sorted(unknown)}")
        absent = [qid for qid in judged_qids if qid not in splits]
        if absent:
            raise ValueError(f"{len(absent)} judged queries have no split (e.g. {absent[0]!r})")
        assignment = {qid: splits[qid] for qid in judged_qids}
        split_method = "given by the source"

    counts: dict[str, Any] = {"products": n_docs, "queries": {}, "judgments": {}, "queries_with_relevant": {}}
    for split in SPLITS:
        qids = [qid for qid in judged_qids if split == "all" or assignment[qid] == split]
        split_queries_ = {qid: queries[qid] for qid in qids}
        split_qrels = {qid: dict(qrels[qid]) for qid in qids}
        write_queries(split_queries_, dataset.queries_path(split))
        write_qrels(split_qrels, dataset.qrels_path(split))
        counts["queries"][split] = len(qids)
        counts["judgments"][split] = _grade_counts(split_qrels)
        counts["queries_with_relevant"][split] = sum(
            any(g >= RELEVANT_GRADE for g in judged.values()) for judged in split_qrels.values()
        )
    counts["queries_without_judgments"] = len(queries) - len(judged_qids)

    manifest = {
        "format": FORMAT,
        "created_by": f"prosper-pyserini {__version__}",
        "source": dict(source),
        "split": {
            "method": split_method,
            "seed": seed if splits is None else None,
            "dev_fraction": dev_fraction if splits is None and dev_size is None else None,
            "dev_size": counts["queries"]["dev"],
        },
        "relevant_grade": RELEVANT_GRADE,
        "counts": counts,
        "stats": {key: value() if callable(value) else value for key, value in stats.items()},
        "files": {p.relative_to(dataset.root).as_posix(): sha256_file(p) for p in dataset.files()},
    }
    with atomic_write(dataset.manifest_path) as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def summary_lines(manifest: Mapping[str, Any]) -> list[str]:
    """Human-readable counts for the CLI: products, queries per split, judged pairs per grade."""
    counts = manifest["counts"]
    lines = [f"products: {counts['products']:,}"]
    for split in SPLITS:
        grades = counts["judgments"][split]
        per_grade = ", ".join(f"grade {g}: {n:,}" for g, n in grades.items())
        lines.append(
            f"{split:>5}: {counts['queries'][split]:,} queries "
            f"({counts['queries_with_relevant'][split]:,} with a grade-2 judgment); "
            f"{sum(grades.values()):,} judged pairs ({per_grade})"
        )
    for key, value in manifest.get("stats", {}).items():
        lines.append(f"{key}: {value}")
    return lines
