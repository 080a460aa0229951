"""SHA-256 of files and folders: for provenance, caches and the manifests that catch changed inputs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: str | os.PathLike[str]) -> str:
    """Checksum of a file, or of every file under a folder (names and contents, in sorted order)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(sha256_file(item).encode())
    return digest.hexdigest()


def file_checksums(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{relative name: sha256}`` of a file (name ``""``) or of every non-hidden file under a folder.

    What a cached step records about its output: files added beside later (a search backend's index) do not
    change it, while a changed, truncated or removed file does.
    """
    path = Path(path)
    if path.is_file():
        return {"": sha256_file(path)}
    return {str(item.relative_to(path)): sha256_file(item)
            for item in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))}
