"""Cached pipeline steps: an output is reused when the inputs that made it are unchanged.

Each step writes into ``OUT.partial`` (suffix kept: ``run.partial.trec``) and renames it into place when it
finishes, so an interrupted step leaves nothing that looks complete; a stamp ``.OUT.step.json`` beside the
output records the key of its inputs (parameters and file checksums) and how long it took.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)


def key_of(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Steps:
    force: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)       # made by an earlier run (not earlier in this one)
    produced: set[str] = field(default_factory=set)

    def run(self, name: str, out: Path, inputs: dict[str, Any], produce: Callable[[Path], None]) -> Path:
        """Produce ``out`` with ``produce(partial_path)`` unless a stamp with the same input key exists."""
        key = key_of(inputs)
        stamp = out.parent / f".{out.name}.step.json"
        if not self.force and out.exists() and stamp.exists():
            recorded = json.loads(stamp.read_text())
            if recorded.get("key") == key:
                # a step made or reused earlier in this run (a fusion asks for its parts again) is not news
                log.log(logging.DEBUG if name in self.produced or name in self.reused else logging.INFO,
                        "%s: reusing %s", name, out)
                self.timings[name] = recorded.get("seconds", 0.0)
                if name not in self.produced and name not in self.reused:
                    self.reused.append(name)
                return out
        partial = out.with_name(f"{out.stem}.partial{out.suffix}")  # keeps the suffix writers look at
        _remove(partial)
        out.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        produce(partial)
        seconds = time.perf_counter() - start
        _remove(out)
        partial.rename(out)
        stamp.write_text(json.dumps({"key": key, "inputs": inputs, "seconds": seconds}, indent=2, default=str))
        self.timings[name] = seconds
        self.produced.add(name)
        return out


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
