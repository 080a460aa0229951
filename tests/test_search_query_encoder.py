"""The single-query path gives exactly the vectors of the batch path (real SPLADE-tiny weights, sample queries)."""

from __future__ import annotations

import torch
from support import QUERIES, sparse_encoder

from prosper_pyserini.data.formats import read_queries
from prosper_pyserini.encode.quantize import TermWeights
from prosper_pyserini.encode.queries import encode_queries
from prosper_pyserini.search.query_encoder import SingleQueryEncoder


def test_single_query_path_equals_batch_path(splade_dir):
    encoder = sparse_encoder()
    texts = list(read_queries(QUERIES).values()) + ["", "x " * 600, "DeWalt 20V MAX* XR 1/2 in. drill/driver"]
    for top_k in (16, 3, None):
        fast = SingleQueryEncoder(encoder, top_k=top_k)
        assert fast._rust is not None  # the direct tokenizer path is the one measured
        batch = encode_queries(encoder, dict(enumerate(texts)), top_k=top_k, batch_size=8, progress=False)
        for i, text in enumerate(texts):
            assert fast(text) == batch[i], (top_k, text)
            assert list(fast(text)) == list(batch[i])  # same order: heaviest first


def test_quantize_breaks_ties_to_the_lower_term_id(splade_dir):
    encoder = sparse_encoder()
    fast = SingleQueryEncoder(encoder, top_k=2)
    row = torch.zeros(len(encoder.vocab_terms))
    row[[2000, 2001, 2002, 2003]] = torch.tensor([0.5, 0.7, 0.7, 0.7])
    expected = TermWeights(encoder.vocab_terms).int_vectors(row[None], top_k=2)[0]
    assert fast.quantize(row) == expected and len(expected) == 2


def test_forward_only_is_the_model(splade_dir):
    encoder = sparse_encoder()
    fast = SingleQueryEncoder(encoder)
    batch = fast.tokenize("cordless drill")
    assert torch.equal(fast.forward_only(batch), encoder.encode(["cordless drill"], side="query"))
