"""The report folder: Markdown + offline HTML + plots + provenance, rendered by headless Chromium when present."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from prosper_pyserini.eval.metrics import evaluate_runs
from prosper_pyserini.eval.plots import plot_hit_curves
from prosper_pyserini.eval.report import collect_provenance, git_info, package_versions, sha256_file, write_report
from prosper_pyserini.eval.significance import mark_significance

CHROMIUM = "/usr/bin/chromium"


def _results():
    qrels = {f"q{i}": {f"r{i}": 2, f"s{i}": 1} for i in range(30)}
    good = {q: {f"r{i}": 3.0, f"s{i}": 2.0, "x": 1.0} for i, q in enumerate(qrels)}
    poor = {q: {"x": 3.0, f"s{i}": 2.0, **({f"r{i}": 1.0} if i % 3 else {})} for i, q in enumerate(qrels)}
    results = evaluate_runs({"bm25": poor, "prosper": good}, qrels)
    mark_significance(results, "bm25")
    return results


def test_write_report_folder(tmp_path):
    results = _results()
    plots = plot_hit_curves(results, tmp_path / "elsewhere" / "hit_at_k")
    data = tmp_path / "qrels.txt"
    data.write_text("q0 0 r0 2\n")
    java = {"java_version": "21.0.5", "anserini_jar": "anserini-1.2.2-fatjar.jar"}  # as java_info() returns
    provenance = collect_provenance(command=["prosper-repro", "--config", "x.yaml"], java=java,
                                    models={"prosper-0.5b": "ab" * 32}, data_files={"qrels": data})
    sections = {
        "timings": {"encode corpus (s)": 12.5, "search (s)": 3.25},
        "sparsity": {"prosper": {"avg terms / query": 17.2, "avg terms / product": 180.4, "FLOPS": 1.93}},
        "config": {"model": {"backbone": "Qwen2.5-0.5B", "lrn": True}, "train": {"lr": 2e-5}},
        "overrides": ["train.lr=2e-5"],
        "notes": "Sample run on the embedded catalog.",
    }
    html_path = write_report(tmp_path / "report", results, plots, sections, provenance)
    folder = tmp_path / "report"
    assert html_path == folder / "report.html"
    for name in ("report.md", "report.html", "hit_at_k.png", "hit_at_k.svg", "results.json"):
        assert (folder / name).stat().st_size > 200, name
    md, page = (folder / "report.md").read_text(), html_path.read_text()
    for text in ("▲", "Hit@K curves", "avg terms / product", "Qwen2.5-0.5B", "prosper-repro --config x.yaml",
                 "anserini-1.2.2-fatjar.jar", "ab" * 32, sha256_file(data), "ranx", "Sample run"):
        assert text in md and text in page, text
    assert "![hit_at_k](hit_at_k.png)" in md and 'src="hit_at_k.svg"' in page
    # self-contained: every src/href is a relative file that exists in the folder, no network resources
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(not re.match(r"[a-z]+:", link) and (folder / link).is_file() for link in links)
    assert "<style>" in page and "<script" not in page


def test_provenance_helpers():
    versions = package_versions(["ranx", "surely-not-a-package-xyz"])
    assert re.match(r"\d+\.\d+", versions["ranx"]) and versions["surely-not-a-package-xyz"] == "not installed"
    info = git_info()
    assert info is None or re.fullmatch(r"[0-9a-f]{40}", info["commit"])


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium "
                    "(.ci/run installs it when CI is set; offline it cannot)")
def test_report_renders_in_headless_chromium(tmp_path):
    results = _results()
    folder = tmp_path / "report"
    plots = plot_hit_curves(results, folder / "hit_at_k")
    write_report(folder, results, plots, {"timings": {"search (s)": 1.0}}, collect_provenance(command="x"))
    shot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp()
    try:
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,2000",
             (folder / "report.html").as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert shot.stat().st_size > 20_000  # a blank 1200x2000 page compresses to a few KB
    keep = os.environ.get("PROSPER_KEEP_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
