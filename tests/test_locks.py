"""One writer at a time (issue 36): the lock beside an output, its message, and a killed holder's leftover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prosper_pyserini.locks import LockedError, exclusive, lock_path


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with exclusive(target, "index"):
        record = json.loads(lock_path(target).read_text())
        assert record["pid"] == os.getpid()
        with pytest.raises(LockedError, match=rf"index: this index is being written by another process \(pid {os.getpid()}: "):
            with exclusive(target, "index"):
                pass
    assert not lock_path(target).exists()   # removed when the holder lets go
    with exclusive(target):                  # and free again
        pass


def test_a_lock_held_by_another_process(tmp_path: Path) -> None:
    target = tmp_path / "work"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from prosper_pyserini.locks import exclusive\n"
        f"with exclusive({str(target)!r}, 'work_dir'):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=rf"\(pid {holder.pid}: "):
            with exclusive(target, "work_dir"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with exclusive(target, "work_dir"):   # a killed holder leaves its file, unlocked: the next writer takes it
        assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()
