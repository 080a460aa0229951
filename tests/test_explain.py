"""The case-table view: literal and expansion terms of a real SPLADE-tiny encoder."""

from click.testing import CliRunner

from prosper_pyserini.cli import main as prosper
from prosper_pyserini.eval.cli import diff_command
from prosper_pyserini.explain import explain_texts
from prosper_pyserini.model import load_encoder


def test_literal_terms_are_the_texts_own_tokens():
    encoder = load_encoder("splade-tiny")
    view, = explain_texts(encoder, ["fridge"], side="query")
    assert [t for t, _ in view.literal] == ["fridge"]
    assert "refrigerator" in [t for t, _ in view.expansion]  # zero-shot SPLADE expands fridge → refrigerator
    weights = [w for _, w in view.literal + view.expansion]
    assert all(w > 0 for w in weights) and view.active_terms == int((encoder.encode(["fridge"], side="query") > 0).sum())


def test_explain_command():
    result = CliRunner().invoke(prosper, ["explain", "--model", "splade-tiny", "--top", "3", "cordless drill"])
    assert result.exit_code == 0, result.output
    assert "literal term" in result.output and "drill" in result.output


def test_diff_shows_query_terms(tmp_path):
    (tmp_path / "q.tsv").write_text("q1\tfridge\nq2\tcordless drill\n")
    (tmp_path / "qrels.txt").write_text("q1 0 d1 2\nq2 0 d2 2\n")
    (tmp_path / "a.trec").write_text("q1 Q0 d1 1 2.0 a\nq2 Q0 d9 1 2.0 a\nq2 Q0 d2 2 1.0 a\n")
    (tmp_path / "b.trec").write_text("q1 Q0 d9 1 2.0 b\nq1 Q0 d1 2 1.0 b\nq2 Q0 d2 1 2.0 b\n")
    args = [str(tmp_path / "a.trec"), str(tmp_path / "b.trec"), "--qrels", str(tmp_path / "qrels.txt"),
            "--queries", str(tmp_path / "q.tsv"), "--model", "b=splade-tiny", "--out", str(tmp_path / "diff.md")]
    result = CliRunner().invoke(diff_command, args)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "diff.md").read_text()
    assert "literal: fridge" in text and "refrigerator" in text
