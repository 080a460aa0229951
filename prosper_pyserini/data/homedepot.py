"""Kaggle "Home Depot Product Search Relevance" ``train.csv`` → prepared dataset folder.

The raw file (``id,product_uid,product_title,search_term,relevance``; quoted CSV, Latin-1 bytes with some
mojibake) is read as is: bytes are decoded as Latin-1 and no text is "fixed" or normalised, because query
ids must match the external convention computed on the exact search term:

* query id = ``"q"`` + first 10 hex digits of SHA-1 of the search term's UTF-8 bytes;
* grade 2 if relevance >= 2.67, 1 if >= 2.0, else 0 (relevance is the mean of 1-3 ratings).

If the same (query, product) pair occurs more than once we keep the highest grade (a product some raters
found relevant stays findable) and count the duplicates in the manifest. The real file has none.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import os
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from tqdm import tqdm

from prosper_pyserini.data.formats import BOM, Doc, InputError, OnError, SkipReport, _Policy, id_problem, read_corpus
from prosper_pyserini.data.prepared import (
    DEFAULT_DEV_FRACTION,
    DEFAULT_SEED,
    PreparedDataset,
    sha256_file,
    write_prepared,
)

COLUMNS = ("id", "product_uid", "product_title", "search_term", "relevance")
LATIN1_BOM = BOM.encode("utf-8").decode("latin-1")  # how a UTF-8 BOM reads in this Latin-1 file
GRADE2_MIN, GRADE1_MIN = 2.67, 2.0
SAMPLE_DIR = Path(__file__).with_name("sample")


def grade(relevance: float) -> int:
    """Home Depot convention: >= 2.67 → 2, >= 2.0 → 1, else 0 (the file's values are rounded to 2 decimals)."""
    if relevance >= GRADE2_MIN:
        return 2
    return 1 if relevance >= GRADE1_MIN else 0


def query_id(text: str) -> str:
    """``q`` + first 10 hex digits of SHA-1 of the exact query text as UTF-8."""
    return "q" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


@dataclass(frozen=True)
class Row:
    line: int
    product_uid: str
    title: str
    query: str
    relevance: float


GZIP_MAGIC = b"\x1f\x8b"
OTHER_ARCHIVES = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd", b"7z\xbc\xaf\x27\x1c": "7z"}


@contextmanager
def _open_csv(path: Path) -> Iterator[IO[str]]:
    """The CSV as Latin-1 text, from a plain file, a gzip'd one or the ``.csv`` member of a zip."""
    if not path.exists():
        raise InputError(path, None, "no such file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX")]
            if len(members) != 1:
                raise InputError(path, None, f"expected exactly one .csv in the zip, found {members or 'none'}")
            with archive.open(members[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="latin-1", newline="")
    else:
        with open(path, "rb") as probe:
            magic = probe.read(6)
        if magic.startswith(GZIP_MAGIC):   # train.csv.gz, or a gzip'd file that kept the .csv name
            with gzip.open(path, "rt", encoding="latin-1", newline="") as handle:
                yield handle
            return
        packed = next((name for prefix, name in OTHER_ARCHIVES.items() if magic.startswith(prefix)), None)
        if packed:
            raise InputError(path, None, f"a {packed}-compressed file; decompress it, or give the CSV, a zip or a gzip")
        with open(path, encoding="latin-1", newline="") as handle:
            yield handle


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    """The lines, less a UTF-8 BOM before the first (it would make the quoted header unquoted)."""
    for number, line in enumerate(lines):
        yield line.removeprefix(LATIN1_BOM) if number == 0 else line


def read_train_csv(
    path: str | os.PathLike[str], on_error: OnError = "raise", report: SkipReport | None = None
) -> Iterator[Row]:
    """Rows of the raw ``train.csv`` with their 1-based starting line; bad rows go to ``on_error``."""
    path = Path(path)
    policy = _Policy(path, on_error, report)
    with _open_csv(path) as handle:
        reader = csv.reader(_without_bom(handle), strict=True)
        start = 1
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(path, 1, "empty file") from None
        except csv.Error as exc:
            raise InputError(path, 1, f"malformed CSV header ({exc})") from None
        if tuple(h.strip() for h in header) != COLUMNS:
            raise InputError(path, 1, f"expected header {','.join(COLUMNS)}, found {','.join(header)}")
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                policy.fail(start, f"malformed CSV ({exc})")
                # resynchronise at the next physical line
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not fields or fields == [""]:
                continue
            if len(fields) != len(COLUMNS):
                policy.fail(line, f"expected {len(COLUMNS)} columns, found {len(fields)}")
                continue
            _, uid, title, query, rel = fields
            try:
                relevance = float(rel)
            except ValueError:
                policy.fail(line, f"relevance {rel!r} is not a number")
                continue
            if not math.isfinite(relevance) or not 1.0 <= relevance <= 3.0:
                policy.fail(line, f"relevance {rel!r} is outside 1..3")
            elif not uid.strip():
                policy.fail(line, "empty product_uid")
            elif problem := id_problem(uid.strip(), "product_uid"):
                policy.fail(line, problem)
            elif not query.strip():
                policy.fail(line, "empty search_term")
            else:
                yield Row(line, uid.strip(), title, query, relevance)
    policy.close()


@dataclass
class HomeDepotData:
    """Queries, graded qrels and corpus read from the raw files, with the counts a user is owed."""

    queries: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    docs: list[Doc] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


def load_homedepot(
    raw: str | os.PathLike[str],
    products: str | os.PathLike[str] | None = None,
    on_error: OnError = "raise",
) -> HomeDepotData:
    """Read ``train.csv`` (+ optional ``products.jsonl``) into queries, qrels and a corpus.

    The corpus is ``products.jsonl`` when given (the full catalog, every split's corpus), else the distinct
    products of the CSV with the first title seen for each (conflicting titles are counted).
    """
    raw = Path(raw)
    report = SkipReport(str(raw))
    data = HomeDepotData()
    csv_titles: dict[str, str] = {}
    first_line: dict[str, int] = {}
    rows = duplicates = title_conflicts = 0
    for row in tqdm(read_train_csv(raw, on_error, report), desc="train.csv rows", unit=" rows", leave=False):
        rows += 1
        qid = query_id(row.query)
        known = data.queries.setdefault(qid, row.query)
        if known != row.query:
            raise InputError(raw, row.line, f"query id {qid} collides: {known!r} vs {row.query!r}")
        judged = data.qrels.setdefault(qid, {})
        g = grade(row.relevance)
        if row.product_uid in judged:
            duplicates += 1
            judged[row.product_uid] = max(judged[row.product_uid], g)
        else:
            judged[row.product_uid] = g
        if row.product_uid not in csv_titles:
            csv_titles[row.product_uid] = row.title
            first_line[row.product_uid] = row.line
        elif csv_titles[row.product_uid] != row.title:
            title_conflicts += 1
    if rows == 0:
        raise InputError(raw, None, "no usable rows")

    if products is not None:
        data.docs = list(read_corpus(products, id_field="id", text_fields=["title"], on_error=on_error))
        ids = {doc.id for doc in data.docs}
        absent = [uid for uid in csv_titles if uid not in ids]
        if absent:
            raise InputError(raw, first_line[absent[0]], f"product_uid {absent[0]} is not in {products}"
                             f" ({len(absent)} product(s) missing)")
    else:
        data.docs = [Doc(uid, title.strip()) for uid, title in csv_titles.items() if title.strip()]
        empty = [uid for uid, title in csv_titles.items() if not title.strip()]
        if empty:
            raise InputError(raw, first_line[empty[0]], f"empty product_title for product_uid {empty[0]}")

    data.stats = {
        "csv_rows": rows,
        "skipped_rows": report.total,
        "duplicate_pairs": duplicates,
        "csv_title_conflicts": title_conflicts,
        "csv_products": len(csv_titles),
    }
    return data


def prepare_homedepot(
    raw: str | os.PathLike[str],
    out: str | os.PathLike[str],
    products: str | os.PathLike[str] | None = None,
    seed: int = DEFAULT_SEED,
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    dev_size: int | None = None,
    on_error: OnError = "raise",
    name: str = "homedepot",
) -> PreparedDataset:
    """Raw Home Depot files → prepared dataset folder (seeded split by query)."""
    data = load_homedepot(raw, products, on_error)
    source = {
        "name": name,
        "raw": Path(raw).name,
        "raw_sha256": sha256_file(raw),
        "products": Path(products).name if products else None,
        "products_sha256": sha256_file(products) if products else None,
        "grades": f"2 if relevance >= {GRADE2_MIN}, 1 if >= {GRADE1_MIN}, else 0; duplicates keep the max",
        "query_id": "q + sha1(utf-8 search_term)[:10]",
    }
    return write_prepared(out, source=source, docs=data.docs, queries=data.queries, qrels=data.qrels,
                          seed=seed, dev_fraction=dev_fraction, dev_size=dev_size, stats=data.stats)


def prepare_sample(out: str | os.PathLike[str], seed: int = DEFAULT_SEED,
                   dev_fraction: float = DEFAULT_DEV_FRACTION, dev_size: int | None = None) -> PreparedDataset:
    """The embedded sample catalog, through exactly the Home Depot code path."""
    return prepare_homedepot(SAMPLE_DIR / "train.csv", out, products=SAMPLE_DIR / "products.jsonl",
                             seed=seed, dev_fraction=dev_fraction, dev_size=dev_size, name="sample")
