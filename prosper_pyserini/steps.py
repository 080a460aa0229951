"""Cached pipeline steps: an output is reused when the inputs that made it are unchanged.

Each step writes into ``OUT.partial`` (suffix kept: ``run.partial.trec``) and renames it into place when it
finishes, so an interrupted step leaves nothing that looks complete; a stamp ``.OUT.step.json`` beside the
output records the key of its inputs (parameters and file checksums), the SHA-256 of each file it made and
how long it took. An output is reused only while those files are still the recorded ones: a run truncated or a
checkpoint edited afterwards is made again, with a warning, never reported as if the step had made it.

A *resumable* step (training) keeps an interrupted ``OUT.partial`` folder when the key written into it at the
start (``.step-key``) matches the new run's, and its ``produce`` picks up from what the folder holds; any
other leftover is removed first, as for every step.

A *shared* step (a model, its encoded corpus, its index: outputs whose content does not depend on the system's
name) also reuses an output beside ``OUT`` made with the same key under another name, so a matrix that
repeats another experiment's system in the same ``work_dir`` does not train it twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from prosper_pyserini.checksums import file_checksums, sha256_file

log = logging.getLogger(__name__)

PARTIAL_KEY = ".step-key"   # inside a resumable step's OUT.partial folder: the key of the run that started it


def key_of(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Steps:
    force: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)       # made by an earlier run (not earlier in this one)
    produced: set[str] = field(default_factory=set)
    verified: set[Path] = field(default_factory=set)    # outputs checked against their stamps in this run

    def run(self, name: str, out: Path, inputs: dict[str, Any], produce: Callable[[Path], None],
            resumable: bool = False, shared: bool = False) -> Path:
        """Produce ``out`` with ``produce(partial_path)`` unless a stamp with the same input key exists.

        Args:
            resumable: the partial output is a folder that ``produce`` may continue (see the module docstring).
            shared: an output beside ``out`` with the same key, made for another name, is reused as it is.

        Returns:
            ``out``, or the output reused in its place (``shared``).
        """
        key = key_of(inputs)
        if not self.force:
            made = _made_with(key, out, out.parent.glob(".*.step.json") if shared else [_stamp_of(out)])
            if made is not None and made[0] not in self.verified:
                if not _still_as_made(name, *made):
                    made = None
                else:
                    self.verified.add(made[0])
            if made is not None:
                output, recorded = made
                # a step made or reused earlier in this run (a fusion asks for its parts again) is not news
                log.log(logging.DEBUG if name in self.produced or name in self.reused else logging.INFO,
                        "%s: reusing %s%s", name, output, "" if output == out else " (the same inputs, another name)")
                self.timings[name] = recorded.get("seconds", 0.0)
                if name not in self.produced and name not in self.reused:
                    self.reused.append(name)
                return output
        partial = out.with_name(f"{out.stem}.partial{out.suffix}")  # keeps the suffix writers look at
        if resumable and not self.force and _partial_key(partial) == key:
            log.info("%s: resuming the interrupted %s", name, partial)
        else:
            _remove(partial)
        out.parent.mkdir(parents=True, exist_ok=True)
        if resumable:
            partial.mkdir(exist_ok=True)
            (partial / PARTIAL_KEY).write_text(key)
        start = time.perf_counter()
        produce(partial)
        seconds = time.perf_counter() - start
        _remove(out)
        if resumable:
            (partial / PARTIAL_KEY).unlink(missing_ok=True)
        partial.rename(out)
        record = {"key": key, "inputs": inputs, "seconds": seconds, "output_files": file_checksums(out)}
        _stamp_of(out).write_text(json.dumps(record, indent=2, default=str))
        self.timings[name] = seconds
        self.produced.add(name)
        self.verified.add(out)
        return out


def _stamp_of(out: Path) -> Path:
    return out.parent / f".{out.name}.step.json"


def _made_with(key: str, out: Path, stamps: Iterable[Path]) -> tuple[Path, dict[str, Any]] | None:
    """The output and stamp record of the first of ``stamps`` that records ``key`` (``out``'s own first)."""
    own = _stamp_of(out)
    for stamp in sorted(stamps, key=lambda s: (s != own, s.name)):
        output = stamp.with_name(stamp.name[1:-len(".step.json")])
        if stamp.is_file() and output.exists():
            recorded = json.loads(stamp.read_text())
            if recorded.get("key") == key:
                return output, recorded
    return None


def _still_as_made(name: str, output: Path, recorded: dict[str, Any]) -> bool:
    """Whether every file the step recorded in ``output`` is still there with its checksum (files added beside
    them later do not count); a stamp from before outputs were checksummed records them now."""
    wanted = recorded.get("output_files")
    if wanted is None:   # stamped before outputs were checksummed: trusted once, and checked from now on
        recorded["output_files"] = file_checksums(output)
        _stamp_of(output).write_text(json.dumps(recorded, indent=2, default=str))
        return True
    for rel, checksum in wanted.items():
        path = output / rel if rel else output
        problem = "is gone" if not path.is_file() else (
            "changed" if sha256_file(path) != checksum else None)
        if problem:
            log.warning("%s: %s %s after the step made it; making it again", name, path, problem)
            return False
    return True


def _partial_key(partial: Path) -> str | None:
    marker = partial / PARTIAL_KEY
    return marker.read_text().strip() if marker.is_file() else None


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
