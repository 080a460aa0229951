"""Config overrides and the step cache that makes re-runs cheap."""

from dataclasses import dataclass
from typing import Literal

import pytest

from prosper_pyserini.checksums import sha256_tree
from prosper_pyserini.config import ConfigError, apply_overrides, load_config, merge, typed
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


def test_extends_merges_deeply_and_merge_strict_names_the_key(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nsearch: {k: 1000, threads: 2}\nsystems: [{name: a}, {name: b}]\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nsearch: {threads: 8}\nsystems: [{name: c}]\n")
    config = load_config(tmp_path / "child.yaml", ["search.k=10"])
    assert config == {"name": "child", "search": {"k": 10, "threads": 8}, "systems": [{"name": "c"}]}
    assert merge({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    with pytest.raises(KeyError, match="'a.c'"):
        merge({"a": {"b": 1}}, {"a": {"c": 2}}, strict=True)


@dataclass(frozen=True)
class _Inner:
    k: int
    ratio: float
    mode: Literal["x", "y"]


@dataclass(frozen=True)
class _Outer:
    name: str
    flag: bool
    cap: int | None
    windows: list[list[int]] | None
    inner: _Inner


def test_typed_sections_check_every_key_and_type():
    good = {"name": "n", "flag": True, "cap": None, "windows": [[2, 1]], "inner": {"k": 3, "ratio": "3e-5", "mode": "y"}}
    out = typed(_Outer, good)
    assert out == _Outer("n", True, None, [[2, 1]], _Inner(3, 3e-5, "y"))
    assert typed(_Inner, {"k": 1, "ratio": 2, "mode": "x"}).ratio == 2   # an int is a float, kept as written
    bad = [({"inner": {**good["inner"], "k": 1.5}}, "inner.k=1.5 must be an integer"),
           ({"inner": {**good["inner"], "k": True}}, "inner.k=True must be an integer"),
           ({"inner": {**good["inner"], "ratio": "fast"}}, "inner.ratio='fast' is not a number"),
           ({"inner": {**good["inner"], "mode": "z"}}, "inner.mode must be one of x, y, not 'z'"),
           ({"flag": "yes"}, "flag='yes' must be a bool"),
           ({"cap": "3"}, "cap='3' must be an integer"),
           ({"windows": [[2, "a"]]}, r"windows\[0\]\[1\]='a' must be an integer"),
           ({"inner": 3}, "inner: expected a mapping"),
           ({"extra": 1}, "unknown config key 'extra'")]
    for change, message in bad:
        with pytest.raises(ConfigError, match=message):
            typed(_Outer, {**good, **change})
    with pytest.raises(ConfigError, match="missing config key 'inner.mode'"):
        typed(_Outer, {**good, "inner": {"k": 1, "ratio": 1.0}})


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


def test_a_reused_output_is_verified_against_what_its_step_wrote(tmp_path):
    """Issue 36: a run truncated after its step finished is made again, not reported; a file added beside the
    step's own files later (a search backend's index) is not a change; a stamp from before checksums gets them."""
    import json

    calls = []

    def produce(out):
        calls.append(out)
        out.mkdir()
        (out / "run.trec").write_text("q1 Q0 d1 1 2.0 s\nq1 Q0 d2 2 1.0 s\n")

    target = tmp_path / "runs"
    Steps().run("search", target, {"p": 1}, produce)
    (target / "vectors.seismic").write_text("built later")
    Steps().run("search", target, {"p": 1}, produce)
    assert len(calls) == 1
    (target / "run.trec").write_text("q1 Q0 d1 1 2.0 s\n")   # truncated afterwards
    Steps().run("search", target, {"p": 1}, produce)
    assert len(calls) == 2 and len((target / "run.trec").read_text().splitlines()) == 2
    stamp = tmp_path / ".runs.step.json"
    legacy = {k: v for k, v in json.loads(stamp.read_text()).items() if k != "output_files"}
    stamp.write_text(json.dumps(legacy))
    Steps().run("search", target, {"p": 1}, produce)
    assert len(calls) == 2 and set(json.loads(stamp.read_text())["output_files"]) == {"run.trec"}


def test_shared_step_reuses_an_output_made_with_the_same_inputs_under_another_name(tmp_path):
    calls = []

    def produce(out):
        calls.append(out.name)
        out.write_text(out.name)

    first = Steps().run("train:a", tmp_path / "a", {"p": 1}, produce, shared=True)
    steps = Steps()
    assert steps.run("train:b", tmp_path / "b", {"p": 1}, produce, shared=True) == first
    assert calls == ["a.partial"] and steps.reused == ["train:b"] and not (tmp_path / "b").exists()
    # not shared, other inputs, or --force: made under its own name
    assert Steps().run("s", tmp_path / "c", {"p": 1}, produce) == tmp_path / "c"
    assert Steps().run("train:d", tmp_path / "d", {"p": 2}, produce, shared=True) == tmp_path / "d"
    assert Steps(force=True).run("train:b", tmp_path / "b", {"p": 1}, produce, shared=True) == tmp_path / "b"
    assert calls == ["a.partial", "c.partial", "d.partial", "b.partial"]
    # its own output comes first; a stamp whose output is gone is not a twin
    assert Steps().run("train:b", tmp_path / "b", {"p": 1}, produce, shared=True) == tmp_path / "b"
    for made in "abc":
        (tmp_path / made).unlink()
    assert Steps().run("train:e", tmp_path / "e", {"p": 1}, produce, shared=True) == tmp_path / "e"


def test_failed_step_leaves_no_output(tmp_path):
    def produce(out):
        out.write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        Steps().run("s", tmp_path / "out.txt", {}, produce)
    assert not (tmp_path / "out.txt").exists()


def test_resumable_step_continues_its_own_partial_folder_only(tmp_path):
    seen = []

    def produce(out, fail_after=None):
        done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        seen.append(done)
        for i in range(len(done), 3):
            if i == fail_after:
                raise RuntimeError("stopped")
            (out / f"part{i}").write_text(str(i))

    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        Steps().run("train", target, {"p": 1}, lambda out: produce(out, fail_after=2), resumable=True)
    Steps().run("train", target, {"p": 1}, produce, resumable=True)   # same inputs: keeps part0 and part1
    assert seen == [[], ["part0", "part1"]] and sorted(p.name for p in target.iterdir()) == ["part0", "part1", "part2"]
    with pytest.raises(RuntimeError):
        Steps().run("train", target, {"p": 2}, lambda out: produce(out, fail_after=1), resumable=True)
    Steps().run("train", target, {"p": 3}, produce, resumable=True)   # other inputs: the leftover is removed
    assert seen[-1] == [] and not (tmp_path / "model.partial").exists()
    with pytest.raises(RuntimeError):
        Steps().run("train", target, {"p": 4}, lambda out: produce(out, fail_after=1), resumable=True)
    Steps(force=True).run("train", target, {"p": 4}, produce, resumable=True)   # --force starts over
    assert seen[-1] == []


def test_tree_checksum_sees_content_and_names(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_text("1")
    first = sha256_tree(tmp_path / "d")
    (tmp_path / "d" / "a").write_text("2")
    assert sha256_tree(tmp_path / "d") != first
