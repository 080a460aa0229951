"""Readers locate bad input by file and line; writers never leave half a file."""

import gzip
import json

import pytest

from prosper_pyserini.data import formats
from prosper_pyserini.data.formats import InputError, SkipReport


def write(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_corpus_jsonl_and_tsv(tmp_path):
    jsonl = write(tmp_path / "c.jsonl", '{"id": 1, "title": "Drill"}\n\n{"id": "2", "title": "Saw"}\n')
    assert [(d.id, d.text) for d in formats.read_corpus(jsonl)] == [("1", "Drill"), ("2", "Saw")]
    tsv = write(tmp_path / "c.tsv", "a\tHammer 16 oz\nb\tNails\n")
    assert [d.id for d in formats.read_corpus(tsv)] == ["a", "b"]
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"id": "x", "contents": "Paint"}\n'))
    assert [d.text for d in formats.read_corpus(gz)] == ["Paint"]


def test_corpus_joins_text_fields(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"pid": "7", "title": "Drill", "brand": "DEWALT"}\n')
    docs = list(formats.read_corpus(path, id_field="pid", text_fields=["brand", "title"]))
    assert docs[0].text == "DEWALT Drill"


@pytest.mark.parametrize(
    "body, line, reason",
    [
        ('{"id": "1", "title": "a"}\n{"id": "2", "title": \n', 2, "malformed JSON"),
        ('{"title": "no id"}\n', 1, "missing id"),
        ('{"id": "1", "title": "a"}\n{"id": "1", "title": "b"}\n', 2, "duplicate id '1'"),
        ('{"id": "1", "title": "  "}\n', 1, "empty text"),
        (b'{"id": "1", "title": "ok"}\n{"id": "2", "title": "caf\xe9"}\n', 2, "not UTF-8"),
    ],
)
def test_corpus_errors_name_file_and_line(tmp_path, body, line, reason):
    path = write(tmp_path / "bad.jsonl", body)
    with pytest.raises(InputError) as info:
        list(formats.read_corpus(path))
    assert str(info.value).startswith(f"{path}:{line}: ") and reason in str(info.value)


def test_skip_mode_counts_every_bad_line(tmp_path):
    path = write(tmp_path / "bad.jsonl",
                 b'{"id": "1", "title": "a"}\nnot json\n{"id": "1", "title": "b"}\n\xff\n{"id": "3", "title": "c"}\n')
    report = SkipReport(str(path))
    docs = list(formats.read_corpus(path, on_error="skip", report=report))
    assert [d.id for d in docs] == ["1", "3"]
    assert report.total == 3 and "skipped 3 line(s)" in report.summary()


def test_queries_qrels_runs_round_trip(tmp_path):
    formats.write_queries({"q1": "cordless drill", "q2": "tab\there"}, tmp_path / "q.tsv")
    assert formats.read_queries(tmp_path / "q.tsv") == {"q1": "cordless drill", "q2": "tab here"}
    formats.write_qrels({"q1": {"d1": 2, "d2": 0}}, tmp_path / "qrels.txt")
    assert formats.read_qrels(tmp_path / "qrels.txt") == {"q1": {"d1": 2, "d2": 0}}
    # ties in trec_eval's order (docid descending), ranked on the scores as printed: 1.0000001 ties 1.0
    formats.write_run({"q1": {"d2": 1.0, "d1": 3.5, "d3": 1.0000001, "d0": 1.0}}, tmp_path / "r.trec", tag="bm25")
    lines = (tmp_path / "r.trec").read_text().splitlines()
    assert lines == ["q1 Q0 d1 1 3.500000 bm25", "q1 Q0 d3 2 1.000000 bm25", "q1 Q0 d2 3 1.000000 bm25",
                     "q1 Q0 d0 4 1.000000 bm25"]
    assert formats.read_run(tmp_path / "r.trec") == {"q1": {"d1": 3.5, "d3": 1.0, "d2": 1.0, "d0": 1.0}}


def test_run_checksum_ignores_how_ties_were_written_but_not_scores(tmp_path):
    lines = ["q1 Q0 b 1 2.0 x", "q1 Q0 a 2 2.0 x", "q1 Q0 c 3 1.0 x", "q0 Q0 d 1 5.0 x"]
    files = {}
    for name, order in {"desc": [0, 1, 2, 3], "asc": [3, 1, 0, 2], "score": [0, 1, 2, 3]}.items():
        rows = [lines[i] for i in order]
        if name == "score":
            rows[2] = "q1 Q0 c 3 1.5 x"
        files[name] = tmp_path / f"{name}.trec"
        files[name].write_text("\n".join(rows) + "\n")
    checksum = {name: formats.run_checksum(path) for name, path in files.items()}
    assert checksum["desc"] == checksum["asc"] != checksum["score"]


def test_msmarco_runs_read_and_write_and_a_short_line_names_its_columns(tmp_path):
    formats.write_run({"q1": {"a": 2.0, "b": 3.0}, "q2": {"c": 1.0}}, tmp_path / "m.tsv", "x", output_format="msmarco")
    assert (tmp_path / "m.tsv").read_text() == "q1\tb\t1\nq1\ta\t2\nq2\tc\t1\n"
    run = formats.read_run(tmp_path / "m.tsv")
    assert run == {"q1": {"b": 1.0, "a": 0.5}, "q2": {"c": 1.0}}   # score 1/rank keeps the file's order
    (tmp_path / "mixed.trec").write_text("q1 Q0 a 1 2.0 x\nq1\tb\t2\n")
    with pytest.raises(formats.InputError, match=r"mixed.trec:2: expected 6 columns, found 3"):
        formats.read_run(tmp_path / "mixed.trec")
    (tmp_path / "rank.tsv").write_text("q1\ta\tfirst\n")
    with pytest.raises(formats.InputError, match=r"rank.tsv:1: rank 'first' is not a positive integer"):
        formats.read_run(tmp_path / "rank.tsv")


def test_run_and_qrels_errors(tmp_path):
    with pytest.raises(InputError, match=r"r.trec:2: score 'x' is not a number"):
        formats.read_run(write(tmp_path / "r.trec", "q Q0 a 1 1.0 t\nq Q0 b 2 x t\n"))
    with pytest.raises(InputError, match=r"q.txt:1: grade 'two' is not an integer"):
        formats.read_qrels(write(tmp_path / "q.txt", "q 0 a two\n"))
    with pytest.raises(InputError, match="no such file"):
        formats.read_queries(tmp_path / "missing.tsv")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "run.trec"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with formats.atomic_write(target) as out:
            out.write("half a file")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.trec"]


def test_replace_dir_swaps_in_the_new_directory_and_removes_the_old_one_only_after(tmp_path, monkeypatch):
    def folder(name: str, text: str):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text(text)
        return tmp_path / name

    target, aside = tmp_path / "index", tmp_path / ".index.old"
    formats.replace_dir(folder("new1", "first"), target, aside)      # nothing there yet
    assert (target / "f").read_text() == "first" and not aside.exists()
    folder(".index.old", "left by an earlier kill")
    formats.replace_dir(folder("new2", "second"), target, aside)
    assert (target / "f").read_text() == "second" and not aside.exists()

    real_replace = formats.os.replace

    def failing_second_rename(src, dst):
        if src == tmp_path / "new3":
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(formats.os, "replace", failing_second_rename)
    with pytest.raises(OSError, match="disk full"):
        formats.replace_dir(folder("new3", "third"), target, aside)
    assert (aside / "f").read_text() == "second"                      # the old copy waits, whole, aside
    assert sorted(p.name for p in tmp_path.iterdir()) == [".index.old", "new3"]


def test_write_run_rejects_bad_tags(tmp_path):
    with pytest.raises(ValueError, match="one non-empty word"):
        formats.write_run({}, tmp_path / "r.trec", tag="two words")


def test_corpus_jsonl_is_anserini_json_collection(tmp_path):
    formats.write_corpus_jsonl([formats.Doc("1", "Drill")], tmp_path / "c.jsonl")
    assert json.loads((tmp_path / "c.jsonl").read_text()) == {"id": "1", "contents": "Drill"}
