"""The batched sweep equals training one head at a time, value by value, bit for bit.

The reference is ``linear_probe.fitted_head``: one Lightning ``Trainer`` per learning rate,
mini-batches from a shuffling ``DataLoader``, MAE's warm-up + cosine schedule.
"""

from types import SimpleNamespace

import pytest
import torch

from rsbench.engine import EngineOptions
from rsbench.protocols.linear_probe import DEFAULTS, fitted_head
from rsbench.protocols.probe_heads import cross_entropy_grads, fitted_heads, sgd_step

CTX = SimpleNamespace(seed=3, opts=EngineOptions(accelerator="cpu", progress=False))


def at(seed: int, blrs: list[float]) -> list[tuple[int, float]]:
    return [(seed, blr) for blr in blrs]


def features(n: int = 90, dim: int = 12, classes: int = 4):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, classes, (n,), generator=g)
    x = 5.0 + 3.0 * torch.randn(n, dim, generator=g)
    x[:, 0] += 2.0 * y  # learnable, not trivially
    return x, y


@pytest.mark.parametrize("optimizer", ["sgd", "lars"])
@pytest.mark.parametrize("batch_size", [32, 128])  # several steps per epoch, or one full batch
def test_each_batched_head_equals_its_own_run(optimizer, batch_size):
    x, y = features()
    hp = {**DEFAULTS, "epochs": 6, "warmup_epochs": 2, "batch_size": batch_size,
          "optimizer": optimizer, "weight_decay": 0.01 if optimizer == "sgd" else 0.0}
    blrs = [0.03, 0.3, 3.0]
    batched = fitted_heads(x, y, 4, at(CTX.seed, blrs), hp, CTX)
    for blr, head in zip(blrs, batched, strict=True):
        alone = fitted_head(x, y, 4, blr, hp, CTX)
        assert torch.equal(head[1].weight, alone.head[1].weight), blr
        assert torch.equal(head[1].bias, alone.head[1].bias), blr
        assert torch.equal(head[0].running_var, alone.head[0].running_var), blr
        with torch.no_grad():
            assert torch.equal(head(x), alone(x)), blr


def test_the_heads_of_several_seeds_train_at_once_each_as_its_own_run():
    """Seeds 3 and 8 (their own initialisation, order and BatchNorm), two values each, and
    heads of the two seeds interleaved across the lanes: each head is its seed's own run."""
    x, y = features()
    hp = {**DEFAULTS, "epochs": 4, "warmup_epochs": 1, "batch_size": 32}
    runs = [(3, 0.1), (8, 0.1), (8, 1.0), (3, 1.0)]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)  # three lanes: each holds heads of both seeds
        batched = fitted_heads(x, y, 4, runs, hp, CTX)
    finally:
        torch.set_num_threads(before)
    for (seed, blr), head in zip(runs, batched, strict=True):
        alone = fitted_head(x, y, 4, blr, hp, SimpleNamespace(seed=seed, opts=CTX.opts))
        assert torch.equal(head[1].weight, alone.head[1].weight), (seed, blr)
        assert torch.equal(head[0].running_mean, alone.head[0].running_mean), (seed, blr)
    assert not torch.equal(batched[0][1].weight, batched[1][1].weight)  # the seeds differ


def test_a_diverging_value_is_dropped_and_the_others_are_unchanged():
    x, y = features()
    hp = {**DEFAULTS, "epochs": 4, "warmup_epochs": 0, "batch_size": 32}
    # An infinite step: the loss is NaN from the second step on.
    good, bad = fitted_heads(x, y, 4, at(CTX.seed, [0.1, float("inf")]), hp, CTX)
    assert bad is None
    with pytest.raises(FloatingPointError):
        fitted_head(x, y, 4, float("inf"), hp, CTX)  # alone, the same value fails too
    assert torch.equal(good[1].weight, fitted_head(x, y, 4, 0.1, hp, CTX).head[1].weight)


def test_heads_are_the_same_bits_whatever_the_process_thread_count():
    x, y = features(n=300, dim=64)
    hp = {**DEFAULTS, "epochs": 2, "warmup_epochs": 1, "batch_size": 128}
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fitted_heads(x, y, 4, at(CTX.seed, [0.1, 1.0]), hp, CTX)
        torch.set_num_threads(4)
        four = fitted_heads(x, y, 4, at(CTX.seed, [0.1, 1.0]), hp, CTX)
        assert torch.get_num_threads() == 4  # the count is the caller's again
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, four, strict=True):
        assert torch.equal(a[1].weight, b[1].weight) and torch.equal(a[1].bias, b[1].bias)


def test_a_direct_step_is_autograd_and_torch_sgd_bit_for_bit():
    """The hand-called ops of a head step against ``cross_entropy(linear(z)).backward()`` and
    ``torch.optim.SGD.step`` (momentum, weight decay), over several steps."""
    x, y = features(n=256, dim=96, classes=7)
    torch.manual_seed(5)
    ref, mine = torch.nn.Linear(96, 7), torch.nn.Linear(96, 7)
    mine.load_state_dict(ref.state_dict())
    settings = {"lr": 0.3, "momentum": 0.9, "weight_decay": 0.01}
    ref_opt = torch.optim.SGD(ref.parameters(), **settings)
    my_opt = torch.optim.SGD(mine.parameters(), **settings)
    for step in range(5):
        z, t = x[step * 40:(step + 1) * 40], y[step * 40:(step + 1) * 40]
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref(z), t)
        ref_loss.backward()
        loss, grads = cross_entropy_grads(mine.weight, mine.bias, z, t)
        assert torch.equal(loss, ref_loss.detach()), step
        assert torch.equal(grads[0], ref.weight.grad) and torch.equal(grads[1], ref.bias.grad), step
        ref_opt.step()
        sgd_step(my_opt, grads)
        assert torch.equal(mine.weight, ref.weight) and torch.equal(mine.bias, ref.bias), step
