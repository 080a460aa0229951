"""The model family's defaults (model/family.py) on real tokenizers and weights: the inputs a causal LM sees,
its BOS, and the start a freshly loaded SmolLM2 makes on the embedded sample (issue #34)."""

from __future__ import annotations

import json

import pytest
import support
import torch
from transformers import AutoTokenizer

from prosper_pyserini.data.homedepot import prepare_sample
from prosper_pyserini.model import SparseConfig, load_encoder
from prosper_pyserini.model.backbone import adds_bos, normalise_text, resolve, tokenize
from prosper_pyserini.model.base import MANIFEST
from prosper_pyserini.model.family import resolve_sparse_defaults
from prosper_pyserini.model.losses import info_nce
from prosper_pyserini.model.sparse import active_terms
from prosper_pyserini.train.data import examples

torch.set_num_threads(2)


def test_normalise_text() -> None:
    assert normalise_text("DEWALT 20V Max Drill", "lower_space") == " dewalt 20v max drill"
    assert normalise_text(" already spaced", "lower_space") == " already spaced"
    assert normalise_text("Kept As Is", "raw") == "Kept As Is"
    assert normalise_text("", "lower_space") == ""
    with pytest.raises(ValueError, match="text_form"):
        normalise_text("x", "upper")


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf: str):
    return load_encoder(smollm2_gguf, config="prosper")


@pytest.fixture(scope="module")
def sample_pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    """64 (query, relevant product) texts of the embedded sample catalog, in the order the pairs come."""
    data = prepare_sample(tmp_path_factory.mktemp("sample") / "prepared")
    corpus = data.texts()
    queries, qrels = data.judged_split("train", corpus)
    pairs = examples(queries, qrels, 2)[:64]
    return [queries[e.qid] for e in pairs], [corpus[e.docid] for e in pairs]


@pytest.mark.slow
def test_causal_defaults_lowercase_with_a_word_start_and_match_query_and_title_ids(smollm2) -> None:
    cfg = smollm2.config
    assert (cfg.text_form, cfg.bos, cfg.term_pooling, cfg.logit_norm) == ("lower_space", False, "last", "standardise")
    title, query = smollm2.tokenize(["Milwaukee M18 Drill"]), smollm2.tokenize(["milwaukee m18 drill"])
    assert torch.equal(title["input_ids"], query["input_ids"])
    raw = tokenize(smollm2.tokenizer, ["Milwaukee M18 Drill", "milwaukee m18 drill"], "causal", 64)
    assert not torch.equal(raw["input_ids"][0], raw["input_ids"][1])      # what the raw text gave: other ids
    tokens = smollm2.tokenizer.convert_ids_to_tokens(query["input_ids"][0, :-1].tolist())
    assert tokens == ["Ġmil", "waukee", "Ġm", "1", "8", "Ġdrill"]           # the first word marked as the others
    raw_tokens = smollm2.tokenizer.convert_ids_to_tokens(raw["input_ids"][0, :7].tolist())
    assert raw_tokens == ["Mil", "waukee", "ĠM", "1", "8", "ĠDr", "ill"]   # the title as written shares no word


@pytest.mark.slow
def test_echo_repeats_the_text_and_pools_its_second_copy(smollm2) -> None:
    enc = tokenize(smollm2.tokenizer, ["Drill Bit", "Saw"], "causal", 64, text_form="lower_space", echo=True)
    text = smollm2.tokenizer(" drill bit", add_special_tokens=False)["input_ids"]
    n = len(text)
    row, pool = enc["input_ids"][0].tolist(), enc["pool_mask"][0].tolist()
    assert row[: 2 * n + 1] == text + text + [smollm2.tokenizer.eos_token_id]
    assert pool[: 2 * n + 1] == [0] * n + [1] * n + [0]
    assert enc["pool_mask"][1].sum() == len(smollm2.tokenizer(" saw", add_special_tokens=False)["input_ids"])
    short = tokenize(smollm2.tokenizer, ["a b c d e f g h i j"], "causal", 8, text_form="lower_space", echo=True)
    assert short["attention_mask"].sum() <= 8 and short["pool_mask"].sum() == 3   # each copy gets half the room


@pytest.mark.slow
def test_gemma_gets_its_bos_and_smollm2_none() -> None:
    location, gguf, _ = resolve(support.backbone_path("gemma3-270m"))
    tok = AutoTokenizer.from_pretrained(location, gguf_file=gguf)
    assert adds_bos(tok)
    cfg = SparseConfig(arch="causal")
    resolve_sparse_defaults(cfg, tok)
    assert cfg.bos is True
    enc = tokenize(tok, ["Drill", ""], "causal", 16, text_form=cfg.text_form, bos=cfg.bos)
    assert enc["input_ids"][:, 0].tolist() == [tok.bos_token_id] * 2
    assert enc["input_ids"][1, :2].tolist() == [tok.bos_token_id, tok.eos_token_id]   # an empty text: BOS, EOS
    assert enc["pool_mask"][1].sum() == 0 and enc["pool_mask"][0, 0] == 0              # BOS is never pooled


@pytest.mark.slow
def test_a_fresh_smollm2_starts_sparse_with_an_infonce_of_order_one(smollm2, smollm2_gguf, sample_pairs) -> None:
    queries, products = sample_pairs
    for preset in ("prosper", "sp-llm"):
        enc = smollm2 if preset == "prosper" else load_encoder(smollm2_gguf, config=preset)
        with torch.no_grad():
            q = enc(enc.tokenize(queries), "query")
            d = enc(enc.tokenize(products), "doc")
            nce = info_nce(q.final, d.final).item()
        terms = active_terms(d.raw).float()
        assert terms.mean() < 512 and terms.max() < 2048, (preset, terms.mean(), terms.max())
        assert 0 < nce < 10, (preset, nce)
    # today's inputs and head without the family defaults: ~49k active terms per text, an InfoNCE of 1e4-1e5
    legacy = load_encoder(smollm2_gguf, config="sp-llm", text_form="raw", logit_norm="none")
    with torch.no_grad():
        q = legacy(legacy.tokenize(queries[:16]), "query")
        d = legacy(legacy.tokenize(products[:16]), "doc")
    assert active_terms(d.raw).float().mean() > 10_000 and info_nce(q.final, d.final).item() > 100


def test_a_checkpoint_saved_before_the_family_keys_keeps_its_inputs(splade_dir: str, tmp_path) -> None:
    enc = load_encoder(splade_dir, config="prosper", logit_norm="standardise")
    assert enc.config.logit_norm == "standardise" and enc.logit_threshold is not None
    with torch.no_grad():
        enc.logit_threshold.fill_(2.5)
    saved = enc.save_pretrained(tmp_path / "new")
    again = load_encoder(saved)
    assert again.config.logit_norm == "standardise" and again.logit_threshold.item() == 2.5
    assert again.checksum() == enc.checksum()
    old = load_encoder(splade_dir, config="prosper").save_pretrained(tmp_path / "old")
    manifest = json.loads((old / MANIFEST).read_text())
    manifest["format"] = 1
    for key in ("text_form", "bos", "term_pooling", "logit_norm", "logit_threshold"):
        del manifest["config"][key]
    (old / MANIFEST).write_text(json.dumps(manifest))
    legacy = load_encoder(old)
    assert (legacy.config.text_form, legacy.config.bos, legacy.config.logit_norm) == ("raw", False, "none")


def test_pooling_a_family_cannot_do_is_refused(splade_dir: str) -> None:
    with pytest.raises(ValueError, match="term_pooling='echo' needs a causal LM"):
        load_encoder(splade_dir, config="splade", term_pooling="echo")
