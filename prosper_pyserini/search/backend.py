"""In-process first-stage backends over an encoded collection: the interface, the name → class table, the cache.

A backend is built from a ``prosper-encode`` ``JsonVectorCollection`` folder (the same integer impacts the Lucene
impact index holds), read one line at a time, and searches integer query vectors (``{term: int}``) as the
``impact`` system does; ``prosper-search --system NAME`` writes the same TREC run. The table :data:`BACKENDS`
names each backend's module and class, imported only when used, so a backend's package (``pyseismic-lsr``,
``bmp``) is needed only by whoever searches with it, and this module imports none of them (no cycles: the
backend modules import this one, never the reverse).

A built index lives in its own folder (by default ``collections/NAME.SYSTEM`` beside the collection, which must
hold part files only) with ``backend.json``: the backend, its build parameters, the collection's fingerprint, the
build time and the size. :func:`open_or_build` reuses it while all three match and rebuilds otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from prosper_pyserini.data.formats import InputError, Run, atomic_write
from prosper_pyserini.encode.parts import read_vectors

RECORD = "backend.json"
Hits = list[tuple[str, float]]

#: name → "module:Class"; the module is imported on first use.
BACKENDS: dict[str, str] = {
    "seismic": "prosper_pyserini.search.seismic_index:SeismicBackend",
    "bmp": "prosper_pyserini.search.bmp_index:BmpBackend",
}


class BackendUnavailable(RuntimeError):
    """The backend's package is not installed (the message says what to install)."""


class Backend:
    """One built index, open for search. Subclasses set the class attributes and the four methods."""

    name: ClassVar[str]
    package: ClassVar[str]  # the PyPI distribution that provides it
    module: ClassVar[str]  # its import name
    Params: ClassVar[type]  # a dataclass: build and search parameters, defaults tuned on dev

    def __init__(self, folder: Path, params: Any):
        self.folder, self.params = folder, params

    @classmethod
    def build(cls, collection_dir: Path, folder: Path, params: Any, threads: int = 1) -> int:
        """Write the index for every document of ``collection_dir`` into the empty ``folder``; return the count."""
        raise NotImplementedError

    @classmethod
    def load(cls, folder: Path, params: Any) -> "Backend":
        raise NotImplementedError

    def search(self, vector: Mapping[str, int], k: int) -> Hits:
        """Top-``k`` (docid, score) of one integer query vector, best first."""
        raise NotImplementedError

    def batch_search(self, vectors: Sequence[Mapping[str, int]], k: int, threads: int = 1) -> list[Hits]:
        return [self.search(v, k) for v in vectors]

    @classmethod
    def check_installed(cls) -> None:
        try:
            importlib.import_module(cls.module)
        except ImportError as exc:
            raise BackendUnavailable(
                f"--system {cls.name} needs the {cls.package!r} package: "
                f"pip install {cls.package} (or pip install -e '.[backends]')"
            ) from exc


def backend_class(name: str) -> type[Backend]:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_params(name: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The backend's parameter dataclass: defaults, with ``overrides`` (``None`` values ignored)."""
    params_cls = backend_class(name).Params
    fields = {f.name for f in dataclasses.fields(params_cls)}
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise ValueError(f"--system {name} has no parameter {', '.join(unknown)} (it has {', '.join(sorted(fields))})")
    return params_cls(**given)


def default_folder(collection_dir: str | os.PathLike[str], name: str) -> Path:
    """``collections/NAME`` → ``collections/NAME.SYSTEM`` (outside the folder Anserini reads)."""
    collection = Path(collection_dir)
    return collection.parent / f"{collection.name}.{name}"


def collection_fingerprint(collection_dir: str | os.PathLike[str]) -> str:
    """sha256 over each part's name, size and modification time: changes when any part is rewritten."""
    digest = hashlib.sha256()
    parts = sorted(Path(collection_dir).glob("part-*.jsonl"))
    if not parts:
        raise InputError(collection_dir, None, "no part-*.jsonl files: not an encoded collection")
    for path in parts:
        st = path.stat()
        digest.update(f"{path.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_params(params: Any) -> dict[str, Any]:
    """The parameters that shape the index (search-time ones, listed in ``SEARCH_FIELDS``, do not)."""
    search_only = set(getattr(params, "SEARCH_FIELDS", ()))
    return {k: v for k, v in dataclasses.asdict(params).items() if k not in search_only}


def open_or_build(
    name: str,
    collection_dir: str | os.PathLike[str],
    folder: str | os.PathLike[str] | None = None,
    params: Any = None,
    threads: int = 1,
    rebuild: bool = False,
) -> tuple[Backend, dict[str, Any]]:
    """Open the backend's index of ``collection_dir``, building it first when absent or stale.

    Returns the open backend and its record (``build_s``, ``index_bytes``, ``docs``, ``params``, ``reused``).
    A build goes to a temporary sibling folder and is moved into place only when complete.
    """
    cls = backend_class(name)
    cls.check_installed()
    params = params if params is not None else make_params(name)
    folder = Path(folder) if folder else default_folder(collection_dir, name)
    wanted = {
        "backend": name,
        "params": build_params(params),
        "collection": str(Path(collection_dir).resolve()),
        "fingerprint": collection_fingerprint(collection_dir),
    }
    record_path = folder / RECORD
    if not rebuild and record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if all(record.get(k) == v for k, v in wanted.items() if k != "collection"):
            return cls.load(folder, params), {**record, "reused": True}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        t0 = time.perf_counter()
        docs = cls.build(Path(collection_dir), tmp, params, threads=threads)
        record = {**wanted, "docs": docs, "build_s": round(time.perf_counter() - t0, 3), "threads": threads}
        record["index_bytes"] = folder_bytes(tmp)
        with atomic_write(tmp / RECORD) as out:
            json.dump(record, out, indent=2)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return cls.load(folder, params), {**record, "reused": False}


def iter_batches(collection_dir: Path, batch_docs: int = 4096) -> Iterator[list[tuple[str, dict[str, int]]]]:
    """The collection's ``(id, vector)`` pairs in lists of ``batch_docs``: what a streamed build holds at once."""
    batch: list[tuple[str, dict[str, int]]] = []
    for item in read_vectors(collection_dir):
        batch.append(item)
        if len(batch) >= batch_docs:
            yield batch
            batch = []
    if batch:
        yield batch


def backend_search(backend: Backend, query_vectors: Mapping[str, Mapping[str, int]], k: int = 1000, threads: int = 1) -> Run:
    """``{qid: {docid: score}}`` in the order of :func:`~prosper_pyserini.data.formats.ranked` (ties by docid)."""
    qids = list(query_vectors)
    hits = backend.batch_search([query_vectors[q] for q in qids], k, threads)
    return {qid: {d: float(s) for d, s in h} for qid, h in zip(qids, hits)}
