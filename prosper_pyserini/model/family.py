"""What a model family needs by default: one table, so ``--config prosper`` on a causal LM does the right thing.

A sparse or training key left at ``null`` takes its family's value here when the encoder (or trainer) is built;
the resolved value is what a checkpoint's ``prosper.json`` records. The MLM values are the behaviour every
model had before these keys existed, so MLM rows (and their caches) are unchanged; the causal values are the
fixes that issue #34's screening rows measured (eval/README.md, "LLM rows: screening").
"""

from __future__ import annotations

from typing import Any

from .backbone import Arch, adds_bos

FAMILY_DEFAULTS: dict[Arch, dict[str, Any]] = {
    # clipping at 1.0, screened on SmolLM2: SP-LLM pool MRR@10 .2686 with it, .1558 without (its first gradient
    # norm is 206); PROSPER .3769 with, .3990 without (eval/README.md, screen-llm block)
    "causal": {"text_form": "lower_space", "term_pooling": "last", "logit_norm": "standardise", "max_grad_norm": 1.0},
    "mlm": {"text_form": "raw", "term_pooling": "max", "logit_norm": "none", "max_grad_norm": 0.0},
}

# The starting τ of ``logit_norm: standardise`` by pooling: a max over ~20 positions lifts every term's pooled
# value, so it needs a higher threshold than one position for the same number of active terms (on 64 dev
# products at the start: SmolLM2 last-token τ 3 → 88 terms; max over positions τ 3 → 1,223, τ 4 → 145; MiniLM's
# tied head, max, τ 3 → 1,548, τ 4 → 245).
START_THRESHOLD: dict[str, float] = {"last": 3.0, "max": 4.0, "echo": 4.0}

# What a checkpoint saved before these keys existed (manifest format 1) did, whatever its family.
LEGACY_SPARSE: dict[str, Any] = {"text_form": "raw", "bos": False, "logit_norm": "none"}


def family_default(arch: Arch, key: str) -> Any:
    """The family's value of ``key`` (``arch`` is ``causal`` or ``mlm``)."""
    return FAMILY_DEFAULTS[arch][key]


def resolve_sparse_defaults(config: Any, tokenizer: Any) -> None:
    """Fill the sparse config's ``None`` (family default) fields in place; ``bos`` follows the tokenizer.

    Raises:
        ValueError: a pooling the family cannot do (``last`` and ``echo`` need a causal LM).
    """
    for key in ("text_form", "term_pooling", "logit_norm"):
        if getattr(config, key) is None:
            setattr(config, key, family_default(config.arch, key))
    if config.logit_threshold is None:
        config.logit_threshold = START_THRESHOLD[config.term_pooling]
    if config.bos is None:
        config.bos = config.arch == "causal" and adds_bos(tokenizer)
    if config.arch != "causal" and config.term_pooling != "max":
        raise ValueError(f"term_pooling={config.term_pooling!r} needs a causal LM; an MLM max-pools")
