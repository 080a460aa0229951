"""Config overrides and the step cache that makes re-runs cheap."""

import pytest

from prosper_pyserini.checksums import sha256_tree
from prosper_pyserini.config import apply_overrides, load_config
from prosper_pyserini.steps import Steps


def test_overrides_parse_yaml_values_and_nest():
    config = {"a": 1, "model": {"lrn": {"query": True}}}
    out = apply_overrides(config, ["a=2.5", "model.lrn.query=false", "new.key=[1, 2]", "name=x y"])
    assert out == {"a": 2.5, "model": {"lrn": {"query": False}}, "new": {"key": [1, 2]}, "name": "x y"}
    assert config["a"] == 1  # the input is not modified


def test_bad_overrides(tmp_path):
    with pytest.raises(ValueError, match="not key=value"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(ValueError, match="is not a mapping"):
        apply_overrides({"a": 1}, ["a.b=2"])
    (tmp_path / "c.yaml").write_text("- a list\n")
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        load_config(tmp_path / "c.yaml")


def test_steps_reuse_and_redo(tmp_path):
    calls = []

    def produce(out):
        calls.append(out)
        out.write_text("result")

    steps = Steps()
    target = tmp_path / "out.txt"
    steps.run("s", target, {"p": 1}, produce)
    steps.run("s", target, {"p": 1}, produce)
    assert len(calls) == 1 and steps.reused == []          # made earlier in this run: not "reused"
    later = Steps()
    later.run("s", target, {"p": 1}, produce)
    later.run("s", target, {"p": 1}, produce)
    assert len(calls) == 1 and later.reused == ["s"]
    steps.run("s", target, {"p": 2}, produce)
    Steps(force=True).run("s", target, {"p": 2}, produce)
    assert len(calls) == 3 and target.read_text() == "result"


def test_failed_step_leaves_no_output(tmp_path):
    def produce(out):
        out.write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        Steps().run("s", tmp_path / "out.txt", {}, produce)
    assert not (tmp_path / "out.txt").exists()


def test_tree_checksum_sees_content_and_names(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_text("1")
    first = sha256_tree(tmp_path / "d")
    (tmp_path / "d" / "a").write_text("2")
    assert sha256_tree(tmp_path / "d") != first
