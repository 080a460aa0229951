"""Every bad input to prosper-eval produces its own counted one-line message; fatal ones stop with FILE: reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prosper_pyserini.data.formats import InputError
from prosper_pyserini.eval import validate
from prosper_pyserini.eval.cli import diff_command, evaluate_command, main
from prosper_pyserini.eval.metrics import evaluate_runs
from prosper_pyserini.eval.tables import diff_queries

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
QRELS = "q1 0 d1 2\nq1 0 d2 0\nq2 0 d3 2\nq3 0 d4 2\nq4 0 d5 1\n"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_bad_run_lines_are_counted_by_kind(tmp_path):
    qrels_path = _write(tmp_path, "q.txt", QRELS)
    run = _write(tmp_path, "bad.trec", "\n".join([
        "q1 Q0 d1 1 2.0 t",
        "q1 Q0 d2 2 abc t",    # non-numeric score
        "q1 Q0 d7 3 xyz t",    # non-numeric score
        "q1 Q0 d8 4 nan t",    # NaN
        "q1 Q0 d1 5 1.0 t",    # duplicate (q1, d1)
        "q2 Q0 d3 1 1.0",      # 5 columns
        "q2 Q0 d9 2 1.0 t",
        "q2 Q0 d3 3 1.0 t",    # tie with d9 (the earlier malformed d3 row was skipped)
        "q9 Q0 d1 1 1.0 t",    # not in qrels
        "q4 Q0 d5 1 1.0 t",    # judged, but no grade-2 doc: not evaluated
        "",
    ]))
    qrels, _ = validate.load_qrels(qrels_path, 2)
    parsed, report = validate.load_run(run, qrels, validate.evaluated_queries(qrels, 2))
    assert report.skipped == {
        "non-numeric scores": 2, "NaN scores": 1, "duplicate (qid, docid) rows": 1,
        "lines with the wrong number of columns": 1,
    }
    assert report.first_line["non-numeric scores"] == 2
    assert report.unknown_queries == 1
    assert report.unjudged_relevant_queries == 1
    assert report.missing_queries == 1  # q3
    assert (report.tied_queries, report.tied_rows) == (1, 2)
    messages = report.messages()
    assert len(messages) == 8 and all(m.startswith(run + ": ") for m in messages)
    assert f"{run}: skipped 2 non-numeric scores (first at line 2)" in messages
    assert f"{run}: 1 of 3 evaluated queries missing from the run (scored 0)" in messages
    assert any("ties broken by docid, descending (as trec_eval)" in m for m in messages)
    assert parsed["q1"] == {"d1": 2.0}
    # the CLI prints each of them, one line each, and still evaluates
    result = CliRunner().invoke(evaluate_command, [run, "--qrels", qrels_path, "--out",
                                                                   str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning: ") == 8 + 1  # + the qrels line: q4 has no grade-2 doc
    counts = json.loads((tmp_path / "o.json").read_text())["validation"]
    assert counts[1]["skipped_total"] == 5 and counts[1]["missing_queries"] == 1
    assert counts[0]["no_relevant_queries"] == 1  # q4 in the qrels


def test_ties_are_broken_by_docid_whatever_the_file_order(tmp_path):
    qrels = {"q1": {"b": 2}}
    for order in (["a", "b", "c"], ["c", "b", "a"]):
        run = {"q1": {d: 1.0 for d in order}}
        results = evaluate_runs({"r": run}, qrels, ["mrr@10"])
        assert results.means["r"]["mrr@10"] == pytest.approx(0.5)  # a, b, c → b at rank 2


def test_bad_qrels_lines_are_counted(tmp_path):
    path = _write(tmp_path, "q.txt", "q1 0 d1 2\nq1 0 d1 1\nq2 0 d2 high\nq3 0 d3\nq4 0 d4 0\n")
    qrels, report = validate.load_qrels(path, 2)
    assert report.skipped == {"duplicate (qid, docid) judgments": 1, "non-integer grades": 1,
                              "lines with the wrong number of columns": 1}
    assert report.no_relevant_queries == 1 and report.evaluated_queries == 1
    assert len(report.messages()) == 4


@pytest.mark.parametrize(
    "qrels_text, run_text, message",
    [
        ("q1 0 d1 2\n", "x1 Q0 d1 1 1.0 t\n", "no query in common with the 1 evaluated qrels queries"),
        ("q1 0 d1 2\n", "q1 Q0 d1 1 bad t\n", "no valid run rows"),
        ("q1 0 d1 1\n", "q1 Q0 d1 1 1.0 t\n", "no query has a judged doc with grade >= 2"),
    ],
)
def test_fatal_inputs_stop_with_one_line(tmp_path, qrels_text, run_text, message):
    qrels_path = _write(tmp_path, "q.txt", qrels_text)
    run = _write(tmp_path, "r.trec", run_text)
    result = CliRunner().invoke(evaluate_command, [run, "--qrels", qrels_path])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    with pytest.raises(InputError):
        qrels, _ = validate.load_qrels(qrels_path, 2)
        validate.load_run(run, qrels, validate.evaluated_queries(qrels, 2))


def test_duplicate_system_names_are_refused(tmp_path):
    qrels_path = _write(tmp_path, "q.txt", QRELS)
    (tmp_path / "x").mkdir()
    a = _write(tmp_path, "run.trec", "q1 Q0 d1 1 1.0 t\n")
    b = _write(tmp_path / "x", "run.trec", "q1 Q0 d1 1 1.0 t\n")
    result = CliRunner().invoke(evaluate_command, [a, b, "--qrels", qrels_path])
    assert result.exit_code == 2 and "distinct names" in result.output


def test_main_dispatches_diff_and_has_help(capsys):
    for argv, expected in ((["--help"], "prosper-eval diff --help"), (["diff", "--help"], "RUN_A RUN_B")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert expected in capsys.readouterr().out


def test_diff_lists_queries_with_text_titles_and_relevance(tmp_path):
    qrels_path = str(FIXTURES / "tiny.qrels")
    b = _write(tmp_path, "b.trec", "q1 Q0 d1 1 1.0 b\nq2 Q0 d5 1 1 b\nq4 Q0 d8 1 1 b\n")
    queries = _write(tmp_path, "queries.tsv", "q1\tcordless drill\nq2\tdeck stain\nq4\t[brass] hinge\n")
    corpus = _write(tmp_path, "corpus.jsonl", "".join(
        json.dumps({"id": f"d{i}", "contents": f"Product number {i} title"}) + "\n" for i in range(1, 10)))
    result = CliRunner().invoke(diff_command, [
        str(FIXTURES / "tiny_a.trec"), b, "--qrels", qrels_path, "--metric", "mrr@10", "--top", "2",
        "--queries", queries, "--corpus", corpus, "--out", str(tmp_path / "diff.md")])
    assert result.exit_code == 0, result.output
    out = result.output
    # q4 (absent from tiny_a, 0 → 1) differs most, then q1 (1/3 → 1); q2 is equal and not shown
    assert out.index("q4") < out.index("q1") and "deck stain" not in out
    assert "[brass] hinge" in out and "cordless drill" in out
    assert "[✔] d8  Product number 8 title" in out
    assert "[0] d3" in out and "[·] d9" in out
    md = (tmp_path / "diff.md").read_text()
    assert "## q4: [brass] hinge" in md and "Δ +1.0000" in md


def test_diff_passes_term_info_through():
    qrels = {"q1": {"a": 2}, "q2": {"b": 2}}
    runs = {"x": {"q1": {"a": 1.0}, "q2": {"c": 1.0}}, "y": {"q1": {"c": 1.0}, "q2": {"b": 1.0}}}
    results = evaluate_runs(runs, qrels, ["hit@1"])
    diffs = diff_queries(results, runs, qrels, "hit@1", top=5, term_info={"y": {"q2": "drill:2.1 cordless:1.4"}})
    assert [d.qid for d in diffs] == ["q2", "q1"]  # equal |Δ|: the one B wins comes first
    assert diffs[0].terms == {"y": "drill:2.1 cordless:1.4"} and diffs[1].terms == {}
    assert diffs[0].top["y"] == [("b", "", 2)]
