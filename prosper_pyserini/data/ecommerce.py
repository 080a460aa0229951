"""Public e-commerce relevance data sets, from their official file layouts, → prepared dataset folder.

Grades follow the project rule "relevant = grade 2" (Hit/MRR/Recall use grade >= 2; nDCG uses 0/1/2):

* **Amazon ESCI** (Shopping Queries Dataset; ``shopping_queries_dataset_{examples,products}.parquet``):
  Exact → 2, Substitute → 1, Complement → 0, Irrelevant → 0. A complement (a case for the phone asked for)
  does not satisfy the query, so it gets no gain. The official ``split`` column is kept: ``train`` → train,
  ``test`` → dev. Task 1 uses ``small_version == 1`` (the default); the corpus is every product of the chosen
  locale(s) in the products file. Query ids are ESCI's ``query_id``; product ids are the ASINs, prefixed
  with ``{locale}_`` only when several locales are prepared together (an ASIN can occur in each).
* **WANDS** (Wayfair; tab-separated ``product.csv``, ``query.csv``, ``label.csv``): Exact → 2, Partial → 1,
  Irrelevant → 0. There is no official split, so queries are split by the seeded rule of ``prepared.py``.
* **Multi-CPR** (Alibaba; ``corpus.tsv``, ``{train,dev}.query.txt``, ``qrels.{train,dev}.tsv`` with rows
  ``qid<TAB>0<TAB>pid<TAB>1``): every judgment is a positive → grade 2; official train/dev kept.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

from tqdm import tqdm

from prosper_pyserini.data.formats import (
    Doc,
    InputError,
    OnError,
    SkipReport,
    _Policy,
    id_problem,
    read_corpus,
    read_queries,
)
from prosper_pyserini.data.prepared import (
    DEFAULT_DEV_FRACTION,
    DEFAULT_SEED,
    PreparedDataset,
    sha256_file,
    write_prepared,
)

ESCI_GRADES = {"E": 2, "S": 1, "C": 0, "I": 0}
ESCI_SPLITS = {"train": "train", "test": "dev"}
ESCI_EXAMPLES = "shopping_queries_dataset_examples.parquet"
ESCI_PRODUCTS = "shopping_queries_dataset_products.parquet"
ESCI_FIELDS = ("product_title",)

WANDS_GRADES = {"Exact": 2, "Partial": 1, "Irrelevant": 0}
WANDS_FIELDS = ("product_name", "product_class", "product_description")


def _file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise InputError(path, None, "no such file")
    return path


def _join(values: Sequence[object]) -> str:
    """Text fields joined with a space; missing values (None/NaN/empty) are left out."""
    parts = []
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            continue
        text = " ".join(str(value).split())
        if text:
            parts.append(text)
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------- ESCI


def _read_parquet(path: Path, columns: Sequence[str]):
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        have = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a non-parquet file
        raise InputError(path, None, f"not a readable parquet file ({exc})") from None
    missing = [c for c in columns if c not in have]
    if missing:
        raise InputError(path, None, f"missing column(s) {', '.join(missing)}")
    return pd.read_parquet(path, columns=list(columns))


def prepare_esci(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    locales: Sequence[str] = ("us",),
    version: str = "small",
    fields: Sequence[str] = ESCI_FIELDS,
    on_error: OnError = "raise",
) -> PreparedDataset:
    """Shopping Queries Dataset parquet files in ``folder`` → prepared folder (official train/test split)."""
    folder = Path(folder)
    if version not in ("small", "large"):
        raise ValueError(f"version must be 'small' or 'large', not {version!r}")
    ex_path, pr_path = _file(folder, ESCI_EXAMPLES), _file(folder, ESCI_PRODUCTS)
    examples = _read_parquet(ex_path, ["query", "query_id", "product_id", "product_locale", "esci_label",
                                       f"{version}_version", "split"])
    keep = examples[f"{version}_version"].astype(int).eq(1) & examples["product_locale"].isin(list(locales))
    report = SkipReport(str(ex_path))
    policy = _Policy(ex_path, on_error, report)
    prefix = len(locales) > 1

    def doc_id(locale: str, pid: str) -> str:
        return f"{locale}_{pid}" if prefix else pid

    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    splits: dict[str, str] = {}
    duplicates = 0
    rows = examples[keep]
    for row, (query, qid, pid, locale, label, split) in zip(
        rows.index, rows[["query", "query_id", "product_id", "product_locale", "esci_label", "split"]].itertuples(index=False)
    ):
        line = int(row) + 1  # parquet has no lines: the 1-based row number
        qid = str(qid)
        if label not in ESCI_GRADES:
            policy.fail(line, f"row {line}: esci_label {label!r} is not E, S, C or I")
            continue
        if split not in ESCI_SPLITS:
            policy.fail(line, f"row {line}: split {split!r} is not train or test")
            continue
        if not str(query).strip():
            policy.fail(line, f"row {line}: empty query")
            continue
        if problem := id_problem(qid, "query_id") or id_problem(str(pid), "product_id"):
            policy.fail(line, f"row {line}: {problem}")
            continue
        if queries.setdefault(qid, str(query)) != str(query):
            raise InputError(ex_path, line, f"row {line}: query_id {qid} has two texts")
        if splits.setdefault(qid, ESCI_SPLITS[split]) != ESCI_SPLITS[split]:
            raise InputError(ex_path, line, f"row {line}: query_id {qid} is in both train and test")
        judged = qrels.setdefault(qid, {})
        did = doc_id(str(locale), str(pid))
        if did in judged:
            duplicates += 1
        judged[did] = max(judged.get(did, 0), ESCI_GRADES[label])
    policy.close()

    products = _read_parquet(pr_path, ["product_id", "product_locale", *fields])
    products = products[products["product_locale"].isin(list(locales))]
    docs: list[Doc] = []
    empty: set[str] = set()
    for pid, locale, *values in tqdm(products[["product_id", "product_locale", *fields]].itertuples(index=False),
                                     total=len(products), desc="ESCI products", unit=" products", leave=False):
        did = doc_id(str(locale), str(pid))
        text = _join(values)
        if text:
            docs.append(Doc(did, text))
        else:
            empty.add(did)
    dropped = 0
    for judged in qrels.values():  # a product with no text cannot be retrieved or judged fairly
        for did in [d for d in judged if d in empty]:
            del judged[did]
            dropped += 1
    source = {"name": "esci", "locales": list(locales), "version": version, "fields": list(fields),
              "grades": "E=2, S=1, C=0, I=0", "split": "official: train -> train, test -> dev",
              "examples_sha256": sha256_file(ex_path), "products_sha256": sha256_file(pr_path)}
    stats = {"skipped_rows": report.total, "duplicate_pairs": duplicates, "products_without_text": len(empty),
             "judgments_of_products_without_text": dropped}
    return write_prepared(out, source=source, docs=docs, queries=queries, qrels=qrels, splits=splits, stats=stats)


# ---------------------------------------------------------------------------------------------- WANDS


def _read_tsv(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a tab-separated file with a header (quoted fields allowed), with their starting line."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, encoding="utf-8-sig", newline="") as handle:  # -sig: a BOM is not part of the header
        reader = csv.reader(handle, delimiter="\t")
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(path, 1, "empty file") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(path, 1, f"missing column(s) {', '.join(missing)} (found {', '.join(header)})")
        start = reader.line_num + 1
        try:
            for fields in reader:
                line, start = start, reader.line_num + 1
                if not any(fields):
                    continue
                if len(fields) != len(header):
                    raise InputError(path, line, f"expected {len(header)} tab-separated columns, found {len(fields)}")
                yield line, dict(zip(header, fields))
        except csv.Error as exc:
            raise InputError(path, start, f"malformed row ({exc})") from None
        except UnicodeDecodeError as exc:
            raise InputError(path, start, f"not UTF-8 ({exc.reason})") from None


def prepare_wands(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    fields: Sequence[str] = WANDS_FIELDS,
    seed: int = DEFAULT_SEED,
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    dev_size: int | None = None,
) -> PreparedDataset:
    """WANDS ``product.csv``/``query.csv``/``label.csv`` (tab-separated) in ``folder`` → prepared folder."""
    folder = Path(folder)
    pr_path, q_path, l_path = (_file(folder, n) for n in ("product.csv", "query.csv", "label.csv"))
    docs: list[Doc] = []
    ids: set[str] = set()
    for line, row in _read_tsv(pr_path, ["product_id", *fields]):
        pid = row["product_id"].strip()
        if not pid or pid in ids:
            raise InputError(pr_path, line, f"{'duplicate' if pid else 'empty'} product_id {pid!r}")
        if problem := id_problem(pid, "product_id"):
            raise InputError(pr_path, line, problem)
        ids.add(pid)
        text = _join([row[f] for f in fields])
        if not text:
            raise InputError(pr_path, line, f"product {pid} has no text in {', '.join(fields)}")
        docs.append(Doc(pid, text))
    queries: dict[str, str] = {}
    for line, row in _read_tsv(q_path, ["query_id", "query"]):
        qid, text = row["query_id"].strip(), " ".join(row["query"].split())
        if not qid or qid in queries:
            raise InputError(q_path, line, f"{'duplicate' if qid else 'empty'} query_id {qid!r}")
        if problem := id_problem(qid, "query_id"):
            raise InputError(q_path, line, problem)
        if not text:
            raise InputError(q_path, line, f"empty query for query_id {qid}")
        queries[qid] = text
    qrels: dict[str, dict[str, int]] = {}
    duplicates = 0
    for line, row in _read_tsv(l_path, ["query_id", "product_id", "label"]):
        qid, pid, label = row["query_id"].strip(), row["product_id"].strip(), row["label"].strip()
        if label not in WANDS_GRADES:
            raise InputError(l_path, line, f"label {label!r} is not Exact, Partial or Irrelevant")
        if qid not in queries:
            raise InputError(l_path, line, f"query_id {qid} is not in {q_path.name}")
        if pid not in ids:
            raise InputError(l_path, line, f"product_id {pid} is not in {pr_path.name}")
        judged = qrels.setdefault(qid, {})
        duplicates += pid in judged
        judged[pid] = max(judged.get(pid, 0), WANDS_GRADES[label])
    source = {"name": "wands", "fields": list(fields), "grades": "Exact=2, Partial=1, Irrelevant=0",
              **{f"{p.stem}_sha256": sha256_file(p) for p in (pr_path, q_path, l_path)}}
    return write_prepared(out, source=source, docs=docs, queries=queries, qrels=qrels, seed=seed,
                          dev_fraction=dev_fraction, dev_size=dev_size, stats={"duplicate_pairs": duplicates})


# ------------------------------------------------------------------------------------------ Multi-CPR


def _read_multicpr_qrels(path: Path, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> None:
    with open(path, encoding="utf-8-sig") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            parts = raw.rstrip("\r\n").split("\t")
            if len(parts) != 4:
                raise InputError(path, line, f"expected 4 tab-separated columns 'qid 0 pid 1', found {len(parts)}")
            qid, _, pid, label = (p.strip() for p in parts)
            if problem := id_problem(pid, "pid"):
                raise InputError(path, line, problem)
            if label != "1":
                raise InputError(path, line, f"label {label!r}: Multi-CPR qrels hold positives only ('1')")
            if qid not in queries:
                raise InputError(path, line, f"query {qid} is not in the query file")
            qrels.setdefault(qid, {})[pid] = 2


def prepare_multicpr(
    folder: str | os.PathLike[str], out: str | os.PathLike[str], domain: str = "ecom"
) -> PreparedDataset:
    """Multi-CPR domain folder (``corpus.tsv``, queries, qrels) → prepared folder (official train/dev)."""
    folder = Path(folder)
    corpus = _file(folder, "corpus.tsv")
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    splits: dict[str, str] = {}
    for split in ("train", "dev"):
        q_path = _file(folder, f"{split}.query.txt")
        split_queries = read_queries(q_path)
        for qid, text in split_queries.items():
            if queries.setdefault(qid, text) != text or splits.setdefault(qid, split) != split:
                raise InputError(q_path, None, f"query id {qid} is also in another query file, with another text")
        _read_multicpr_qrels(_file(folder, f"qrels.{split}.tsv"), queries, qrels)
    docs = tqdm(read_corpus(corpus), desc="Multi-CPR passages", unit=" docs", leave=False)
    source = {"name": f"multicpr-{domain}", "grades": "every judged pair (label 1) -> 2",
              "split": "official: train -> train, dev -> dev", "corpus_sha256": sha256_file(corpus)}
    return write_prepared(out, source=source, docs=docs, queries=queries, qrels=qrels, splits=splits)
