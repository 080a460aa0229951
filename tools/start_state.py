"""The start a freshly loaded sparse encoder makes, for several settings of its model keys, before any training.

    python tools/start_state.py --data work/homedepot/data --backbone smollm2-135m --preset sp-llm \
        "" "logit_norm=none,text_form=raw" "term_pooling=max,logit_threshold=3"

Each argument is one variant: comma-separated model keys over the preset (an empty string is the preset as it
is). On the first ``--pairs`` grade-2 (query, product) pairs of the dev split it prints the active terms per
product and per query before LFW (``raw``), InfoNCE with in-batch negatives, and a product's score against
itself. A fresh encoder that keeps most of the vocabulary active, or whose InfoNCE is in the hundreds, will not
train (issue #34); these are the numbers behind ``START_THRESHOLD`` in ``prosper_pyserini/model/family.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prosper_pyserini.data.prepared import PreparedDataset  # noqa: E402
from prosper_pyserini.eval.report import splice_block  # noqa: E402
from prosper_pyserini.model import load_encoder  # noqa: E402
from prosper_pyserini.model.losses import info_nce  # noqa: E402
from prosper_pyserini.model.sparse import active_terms  # noqa: E402
from prosper_pyserini.train.data import examples  # noqa: E402


def parse_variant(text: str) -> dict[str, object]:
    """``"a=1,b=x"`` → ``{"a": 1, "b": "x"}``, values read as YAML."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {key.strip(): yaml.safe_load(value) for key, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="prepared folder (prosper-data)")
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--preset", default="prosper")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--readme", type=Path, help="also write the table into this Markdown file's block ...")
    parser.add_argument("--block", help="... <!-- start-state:BLOCK:begin/end -->")
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    if args.readme:
        splice_block(args.readme, f"start-state:{args.block}", None)   # fail before loading any model
    torch.set_num_threads(2)
    data = PreparedDataset(args.data)
    corpus = data.texts()
    queries, qrels = data.judged_split("dev", corpus)
    pairs = examples(queries, qrels, 2)[: args.pairs]
    rows = ["| variant | terms/product | terms/query | InfoNCE | self-score |", "|---|---|---|---|---|"]
    print("\n".join(rows))
    for text in args.variants:
        encoder = load_encoder(args.backbone, config=args.preset, **parse_variant(text))
        with torch.no_grad():
            q = encoder(encoder.tokenize([queries[e.qid] for e in pairs]), "query")
            d = encoder(encoder.tokenize([corpus[e.docid] for e in pairs]), "doc")
        rows.append(f"| `{text or args.preset}` | {active_terms(d.raw).float().mean():,.0f} "
                    f"| {active_terms(q.raw).float().mean():,.0f} | {info_nce(q.final, d.final).item():.3g} "
                    f"| {(d.final * d.final).sum(1).mean().item():.3g} |")
        print(rows[-1], flush=True)
    if args.readme:
        variants = " ".join(f'"{v}"' for v in args.variants)
        splice_block(args.readme, f"start-state:{args.block}",
                     f"`python tools/start_state.py --data {args.data} --backbone {args.backbone} --preset {args.preset} "
                     f"--readme {args.readme} --block {args.block} {variants}`\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
