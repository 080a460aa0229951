"""``prosper-repro``: run a declared experiment (data × systems → runs → evaluation → report) with one command.

The config (``eval/*.yaml``) names the data, the systems and the evaluation queries; every step is cached
(:mod:`prosper_pyserini.steps`), so a re-run only redoes what changed and ``--force`` redoes everything.
Any config key can be overridden as ``key=value`` (e.g. ``evaluation.queries=test.tsv
evaluation.qrels=test.qrels``) to point the same experiment at other queries without touching code.
"""

from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from prosper_pyserini.config import load_config
from prosper_pyserini.data.formats import read_queries, read_run, write_run
from prosper_pyserini.data.prepared import PreparedDataset
from prosper_pyserini.steps import Steps, sha256_tree

log = logging.getLogger(__name__)


class Experiment:
    """One config, resolved: where things go, which data, which queries are evaluated."""

    def __init__(self, config: dict[str, Any], config_path: Path, overrides: list[str], force: bool):
        self.config, self.config_path, self.overrides = config, config_path, overrides
        self.name: str = config.get("name", config_path.stem)
        self.work = Path(config.get("work_dir", f"work/{self.name}"))
        self.runs_dir = Path(config.get("runs_dir", f"runs/{self.name}"))
        self.report_dir = Path(config.get("report_dir", f"reports/{self.name}"))
        self.search = {"k": 1000, "threads": 2, **config.get("search", {})}
        self.steps = Steps(force=force)
        self.data: PreparedDataset | None = None
        self.stats: dict[str, dict[str, Any]] = {}
        self.checksums: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------ data

    def prepare_data(self) -> PreparedDataset:
        from prosper_pyserini.data.homedepot import prepare_homedepot, prepare_sample

        spec = {"source": "sample", "seed": 13, "dev_fraction": 0.1, **self.config.get("data", {})}
        if spec["source"] == "prepared":
            self.data = PreparedDataset.load(spec["prepared"])
        else:
            inputs = dict(spec)
            for key in ("raw", "products"):
                if spec.get(key):
                    inputs[f"{key}_sha256"] = sha256_tree(spec[key])

            def produce(out: Path) -> None:
                if spec["source"] == "sample":
                    prepare_sample(out, seed=spec["seed"], dev_fraction=spec["dev_fraction"])
                elif spec["source"] == "homedepot":
                    prepare_homedepot(spec["raw"], out, products=spec.get("products"), seed=spec["seed"],
                                      dev_fraction=spec["dev_fraction"])
                else:
                    raise click.ClickException(f"data.source must be sample, homedepot or prepared, not {spec['source']!r}")

            self.data = PreparedDataset.load(self.steps.run("data", self.work / "data", inputs, produce))
        self.checksums["corpus"] = sha256_tree(self.data.corpus)
        return self.data

    def query_set(self, role: str) -> tuple[Path, Path]:
        """Queries and qrels for ``evaluation`` (the reported table) or ``tuning`` (dev, for fusion weights)."""
        assert self.data is not None
        spec = {"split": "dev", **self.config.get("evaluation", {})}
        if role == "tuning":
            return self.data.queries_path("dev"), self.data.qrels_path("dev")
        queries = Path(spec["queries"]) if spec.get("queries") else self.data.queries_path(spec["split"])
        qrels = Path(spec["qrels"]) if spec.get("qrels") else self.data.qrels_path(spec["split"])
        return queries, qrels

    # --------------------------------------------------------------------------------------- systems

    def run_system(self, system: dict[str, Any], queries: Path, tag: str) -> Path:
        kind = system.get("type")
        handler = SYSTEMS.get(kind)
        if handler is None:
            raise click.ClickException(f"system {system.get('name')!r}: unknown type {kind!r} (known: {', '.join(SYSTEMS)})")
        return handler(self, system, queries, tag)

    def search_step(self, system: dict[str, Any], queries: Path, tag: str, upstream: dict[str, Any],
                    search: Callable[[dict[str, str]], dict[str, dict[str, float]]]) -> Path:
        name = system["name"]
        out = self.runs_dir / f"{name}{tag}.trec"
        inputs = {"system": system, "search": self.search, "queries": sha256_tree(queries), **upstream}

        def produce(partial: Path) -> None:
            write_run(search(read_queries(queries)), partial, tag=name)

        return self.steps.run(f"search:{name}{tag}", out, inputs, produce)


# ------------------------------------------------------------------------------------------- systems


def bm25_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    from prosper_pyserini.index.lucene import run_indexer
    from prosper_pyserini.search.bm25 import DEFAULT_B, DEFAULT_K1, bm25_search

    assert exp.data is not None
    corpus_key = exp.checksums["corpus"]
    index = exp.steps.run(
        "index:bm25", exp.work / "indexes" / "bm25", {"corpus": corpus_key},
        lambda out: run_indexer(["-collection", "JsonCollection", "-input", str(exp.data.corpus.parent),
                                 "-index", str(out), "-generator", "DefaultLuceneDocumentGenerator",
                                 "-threads", str(exp.search["threads"]), "-storePositions", "-storeDocvectors",
                                 "-storeRaw"]),
    )
    k1, b = system.get("k1", DEFAULT_K1), system.get("b", DEFAULT_B)
    return exp.search_step(system, queries, tag, {"index": corpus_key},
                           lambda topics: bm25_search(str(index), topics, k=exp.search["k"], k1=k1, b=b,
                                                      threads=exp.search["threads"]))


SYSTEMS: dict[str, Callable[[Experiment, dict[str, Any], Path, str], Path]] = {
    "bm25": bm25_system,
}


# ---------------------------------------------------------------------------------------- evaluation


def evaluate_and_report(exp: Experiment, run_files: dict[str, Path], qrels: Path, command: str) -> Path:
    from prosper_pyserini.eval.metrics import evaluate_runs
    from prosper_pyserini.eval.report import write_report

    spec = exp.config.get("evaluation", {})
    runs = {name: read_run(path) for name, path in run_files.items()}
    results = evaluate_runs(runs, qrels, **{k: v for k, v in spec.items() if k in ("metrics", "threshold", "baseline", "test", "correction")})
    return write_report(exp.report_dir, results, exp, command)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Experiment YAML (eval/*.yaml).")
@click.option("--force", is_flag=True, help="Redo every step even where a cached output matches.")
@click.option("--only", multiple=True, help="Run only these systems (by name; repeatable).")
@click.argument("overrides", nargs=-1)
def main(config_path: str, force: bool, only: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Run an experiment matrix end to end and write its report.

    OVERRIDES are key=value pairs applied to the config, e.g. evaluation.split=all or
    data.raw=/path/train.csv.zip.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = "prosper-repro " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    config = load_config(config_path, overrides)
    exp = Experiment(config, Path(config_path), list(overrides), force)
    started = time.perf_counter()
    exp.prepare_data()
    queries, qrels = exp.query_set("evaluation")
    systems = [s for s in config.get("systems", []) if not only or s["name"] in only]
    run_files = {s["name"]: exp.run_system(s, queries, tag="") for s in systems}
    report = evaluate_and_report(exp, run_files, qrels, command)
    click.echo(f"report: {report / 'report.html'}  ({time.perf_counter() - started:.0f} s)")
