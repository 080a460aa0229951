"""Each PROSPER equation pinned on small hand-computed tensors (no backbone needed)."""

from __future__ import annotations

import math

import pytest
import torch

from prosper_pyserini.model.lfw import LFWSchedule
from prosper_pyserini.model.losses import flops, graded_listwise, info_nce, ramp
from prosper_pyserini.model.lrn import LRN
from prosper_pyserini.model.sparse import (
    active_terms,
    conditional_topk,
    gather_rows,
    l0,
    last_token_index,
    literal_indicator,
    log_saturate,
    lrn_combine,
    masked_max,
    max_pool_saturate,
    normalise,
    segment_max_saturate,
    standardise_logits,
)

W = torch.tensor([[1.0, 0.0, 2.0, 0.5]])
WP = torch.tensor([[0.5, 3.0, -1.0, 1.0]])      # w' (max = 3.0)
I = torch.tensor([[1, 0, 1, 0]], dtype=torch.bool)


def test_log_saturation() -> None:
    x = torch.tensor([-2.0, 0.0, math.e - 1])
    assert torch.allclose(log_saturate(x), torch.tensor([0.0, 0.0, 1.0]))


def test_lrn_paper_mode() -> None:
    # W = w + I*(max(w') - w'): literal ids 0 and 2 get 3-0.5=2.5 and 3-(-1)=4
    assert torch.equal(lrn_combine(W, WP, I, "paper"), torch.tensor([[3.5, 0.0, 6.0, 0.5]]))


def test_lrn_add_mode() -> None:
    assert torch.equal(lrn_combine(W, WP, I, "add"), torch.tensor([[1.5, 0.0, 1.0, 0.5]]))


def test_lrn_review_mode() -> None:
    # max(w) = 2: literal ids get 2-0.5=1.5 and 2-(-1)=3
    assert torch.equal(lrn_combine(W, WP, I, "review"), torch.tensor([[2.5, 0.0, 5.0, 0.5]]))
    with pytest.raises(ValueError):
        lrn_combine(W, WP, I, "bogus")


def test_lrn_layer_is_xavier_with_bias() -> None:
    torch.manual_seed(0)
    layer = LRN(hidden_size=64, vocab_size=1000)
    bound = math.sqrt(6.0 / (64 + 1000))
    assert layer.fc.weight.abs().max() <= bound and layer.fc.weight.abs().max() > 0.9 * bound
    assert torch.equal(layer.fc.bias, torch.zeros(1000))
    assert layer(torch.ones(2, 64)).shape == (2, 1000)


def test_conditional_topk_above_k_keeps_k_largest() -> None:
    x = torch.tensor([[0.1, 0.9, 0.0, 0.5, 0.3]])      # 4 non-zeros > k=2
    assert torch.equal(conditional_topk(x, 2), torch.tensor([[0.0, 0.9, 0.0, 0.5, 0.0]]))


def test_conditional_topk_at_or_below_k_is_identity() -> None:
    x = torch.tensor([[0.1, 0.9, 0.0, 0.0, 0.3],      # 3 non-zeros == k
                      [0.0, 0.2, 0.0, 0.0, 0.0]])     # 1 non-zero  <  k
    assert torch.equal(conditional_topk(x, 3), x)
    mixed = torch.tensor([[0.1, 0.9, 0.4, 0.0, 0.3], [0.0, 0.2, 0.0, 0.0, 0.7]])
    assert torch.equal(conditional_topk(mixed, 3), torch.tensor([[0.0, 0.9, 0.4, 0.0, 0.3], [0.0, 0.2, 0.0, 0.0, 0.7]]))


def test_conditional_topk_passes_gradient_to_kept_entries_only() -> None:
    x = torch.tensor([[0.1, 0.9, 0.5, 0.3]], requires_grad=True)
    conditional_topk(x, 2).sum().backward()
    assert torch.equal(x.grad, torch.tensor([[0.0, 1.0, 1.0, 0.0]]))


def test_normalisation_l2_l1_none() -> None:
    x = torch.tensor([[3.0, 0.0, 4.0]])
    assert torch.allclose(normalise(x, "l2"), torch.tensor([[0.6, 0.0, 0.8]]))
    assert torch.allclose(normalise(x, "l1"), torch.tensor([[3 / 7, 0.0, 4 / 7]]))
    assert torch.equal(normalise(x, "none"), x)


def test_flops_value() -> None:
    w = torch.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 0.0]])
    # column means 2, 0, 1 → 4 + 0 + 1
    assert flops(w).item() == pytest.approx(5.0)


def test_flops_quadratic_ramp() -> None:
    assert ramp(5e-3, 0, 100) == 0.0
    assert ramp(5e-3, 50, 100) == pytest.approx(5e-3 * 0.25)
    assert ramp(5e-3, 100, 100) == pytest.approx(5e-3)
    assert ramp(5e-3, 500, 100) == pytest.approx(5e-3)
    assert ramp(5e-3, 3, 0) == pytest.approx(5e-3)


def test_info_nce_hand_computed() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])    # 2 positives + 1 hard negative
    # row 0 scores (2, 0, 1), row 1 scores (0, 1, 1)
    expected = (-(2 - math.log(math.e**2 + 1 + math.e)) - (1 - math.log(1 + 2 * math.e))) / 2
    assert info_nce(q, d).item() == pytest.approx(expected, rel=1e-6)
    # temperature divides the scores
    t = 0.5
    e0 = -(4 - math.log(math.e**4 + 1 + math.e**2))
    e1 = -(2 - math.log(1 + 2 * math.e**2))
    assert info_nce(q, d, temperature=t).item() == pytest.approx((e0 + e1) / 2, rel=1e-6)
    # excluding row 0's in-batch candidate 2 drops it from the softmax; the positive itself is never excluded
    exclude = torch.tensor([[True, False, True], [False, False, False]])
    e0 = -(2 - math.log(math.e**2 + 1))
    e1 = -(1 - math.log(1 + 2 * math.e))
    assert info_nce(q, d, exclude=exclude).item() == pytest.approx((e0 + e1) / 2, rel=1e-6)


def test_graded_listwise_hand_computed() -> None:
    scores = torch.tensor([[2.0, 0.0, 1.0], [5.0, 1.0, 0.0]], requires_grad=True)
    # row 0 ranks columns 0 (grade 2) and 2 (grade 0); row 1's products are all grade 2: no order, skipped
    loss = graded_listwise(scores, [[0, 2], [0, 1]], [[2, 0], [2, 2]])
    target = [math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)]
    predicted = [math.exp(2) / (math.exp(2) + math.exp(1)), math.exp(1) / (math.exp(2) + math.exp(1))]
    expected = sum(t * math.log(t / p) for t, p in zip(target, predicted))
    assert loss.item() == pytest.approx(expected, rel=1e-5)   # float32
    loss.backward()
    assert scores.grad[1].abs().sum() == 0 and scores.grad[0, 1] == 0 and scores.grad[0, 0] < 0   # pushes grade 2 up
    # scores already in the grades' proportions: nothing to learn
    assert graded_listwise(torch.tensor([[2.0, 0.0]]), [[0, 1]], [[2, 0]]).item() == pytest.approx(0.0, abs=1e-7)
    assert graded_listwise(torch.tensor([[1.0]]), [[0]], [[2]]).item() == 0.0


def test_standardised_logits_hand_computed() -> None:
    # row [1, 2, 3, 6]: mean 3, population std sqrt((4 + 1 + 0 + 9) / 4) = sqrt(3.5)
    z = torch.tensor([[1.0, 2.0, 3.0, 6.0], [11.0, 12.0, 13.0, 16.0]])
    sd = math.sqrt(3.5)
    expected = torch.tensor([-2 / sd, -1 / sd, 0.0, 3 / sd]) - 1.0
    out = standardise_logits(z, 1.0)
    assert torch.allclose(out[0], expected, atol=1e-6)
    assert torch.allclose(out[1], out[0], atol=1e-6)          # a per-text offset changes nothing
    assert torch.allclose(standardise_logits(3 * z, 1.0), out, atol=1e-6)   # nor a per-text scale
    # with τ = 1 only the term 3/sqrt(3.5) = 1.60 σ above the mean stays active under log(1+ReLU(·))
    assert active_terms(log_saturate(out)).tolist() == [1, 1]
    tau = torch.tensor([1.0], requires_grad=True)
    log_saturate(standardise_logits(z, tau)).sum().backward()
    assert tau.grad.item() == pytest.approx(-2 / (1 + 3 / sd - 1))   # d/dτ log(1 + x − τ) = −1/(1 + x − τ), twice


def test_last_token_index_right_padding_matches_left_padding_minus_two() -> None:
    eos, pad = 9, 0
    texts = [[5, 6, 7], [8], [4, 3]]
    width = max(len(t) for t in texts) + 1
    right = torch.tensor([t + [eos] + [pad] * (width - len(t) - 1) for t in texts])
    right_mask = torch.tensor([[1] * (len(t) + 1) + [0] * (width - len(t) - 1) for t in texts])
    left = torch.tensor([[pad] * (width - len(t) - 1) + t + [eos] for t in texts])
    index = last_token_index(right_mask)
    assert index.tolist() == [2, 0, 1]
    picked = right[torch.arange(3), index]
    assert picked.tolist() == [7, 8, 3]                # the token right before EOS
    assert torch.equal(picked, left[:, -2])            # what left padding + position −2 selects
    hidden = torch.arange(3 * width * 2, dtype=torch.float).view(3, width, 2)
    assert torch.equal(gather_rows(hidden, index), hidden[torch.arange(3), index])
    assert last_token_index(torch.tensor([[1, 0, 0]])).tolist() == [0]   # EOS only: pool EOS, not −1


def test_masked_max_pooling_ignores_padding() -> None:
    values = torch.tensor([[[0.1, 0.5], [0.7, 0.2], [9.0, 9.0]],
                           [[0.3, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert torch.equal(masked_max(values, mask), torch.tensor([[0.7, 0.5], [0.3, 0.0]]))


def test_segment_max_over_real_tokens_matches_padded_max_pooling_and_its_gradient() -> None:
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    padded = torch.randn(4, 4, 6, requires_grad=True)
    bias = torch.randn(6)
    grad = torch.randn(4, 6)
    expected = max_pool_saturate(padded, mask, bias)
    (g_expected,) = torch.autograd.grad((expected * grad).sum(), padded)
    got = segment_max_saturate(padded[mask.bool()], mask, bias)
    (g_got,) = torch.autograd.grad((got * grad).sum(), padded)
    assert torch.allclose(got, expected) and torch.allclose(g_got, g_expected)
    assert torch.equal(got[2], torch.zeros(6))              # a text without real tokens
    with torch.no_grad():                                   # the inference path pools the same way
        assert torch.equal(segment_max_saturate(padded[mask.bool()], mask, bias), got)
    assert g_got[0, 3].abs().sum() == 0                     # padding receives no gradient


def test_literal_indicator_excludes_padding_and_special_ids() -> None:
    ids = torch.tensor([[101, 5, 7, 102, 0], [101, 0, 102, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    ind = literal_indicator(ids, mask, 200, {0, 101, 102})
    assert ind[0].nonzero().flatten().tolist() == [5, 7]
    assert ind[1].nonzero().flatten().tolist() == []
    ind = literal_indicator(ids, mask, 200, {101, 102})      # id 0 as a real (unmasked) token counts
    assert ind[1].nonzero().flatten().tolist() == [0]
    assert ind[0].nonzero().flatten().tolist() == [5, 7]


def test_lfw_schedule_narrows_when_vectors_fit() -> None:
    schedule = LFWSchedule([(8, 4), (4, 2)], warmup_steps=3, ready_fraction=0.9, history=2)
    assert not schedule.active(2) and schedule.active(3)
    assert schedule.window == (8, 4)
    assert not schedule.observe([10, 5], [3, 3])          # one doc of four vectors over k_d=8
    assert not schedule.observe([7, 5], [3, 3])           # 7/8 = 87.5% fit over the last 2 batches < 90%
    assert schedule.observe([7, 5], [3, 4])               # 8/8 in the last two batches
    assert schedule.window == (4, 2)
    assert not schedule.observe([1], [1]) and not schedule.observe([1], [1])   # last window: stays
    state = schedule.state_dict()
    fresh = LFWSchedule([(8, 4), (4, 2)])
    fresh.load_state_dict(state)
    assert fresh.window == (4, 2)


def test_active_terms_and_their_mean():
    w = torch.tensor([[1.0, 0.0, 2.0, 0.5], [0.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.0]])
    assert active_terms(w).tolist() == [3, 0, 1]
    assert l0(w) == pytest.approx(4 / 3)
