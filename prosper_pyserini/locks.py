"""One writer at a time for an output that takes minutes to build (an index, a work_dir, a training folder).

Two builds of one index both succeed and the later rename silently wins; two ``prosper-repro`` runs in one
``work_dir`` remove each other's partial outputs. :func:`exclusive` takes an advisory lock on a small file
beside the target, ``.NAME.lock``, holding the pid and command of its holder, and refuses at once (no
waiting) with one line that names the other process. The file is removed when the holder lets go; a holder
that was killed leaves it behind, unlocked, and the next writer simply takes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Iterator


class LockedError(OSError):
    """Another process is writing the same output (an OS-level conflict, reported as one plain line)."""


def lock_path(target: str | os.PathLike[str]) -> Path:
    """``dir/NAME`` → ``dir/.NAME.lock`` (beside the target, so replacing the target keeps the lock)."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {record['pid']}: {record['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its name yet"


@contextlib.contextmanager
def exclusive(target: str | os.PathLike[str], what: str = "output") -> Iterator[None]:
    """Hold the write lock of ``target`` for the block; raise :class:`LockedError` if another process holds it.

    Args:
        target: the file or folder about to be written (it need not exist yet).
        what: how the message names it (``"index"``, ``"work_dir"``).
    """
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"{target}: this {what} is being written by another process ({_holder(path)}); "
                              "wait for it to finish, or stop it") from None
        try:   # the holder before us may have removed the file after we opened it: lock the file that is there
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv)}).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)   # releases the lock
