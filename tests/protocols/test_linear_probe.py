from types import SimpleNamespace

import torch

from rsbench.engine import EngineOptions
from rsbench.heads import probe_head
from rsbench.protocols.linear_probe import DEFAULTS, ProbeHead, fitted_head, predictions


def clusters(n_per_class: int, dim: int = 16, classes: int = 4, seed: int = 0):
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(123)) * 3
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    # A large shared offset and scale: BatchNorm(affine=False) must whiten it away.
    x = 50.0 + 10.0 * (centres[y] + torch.randn(len(y), dim, generator=g))
    return x, y


def test_probe_head_is_mae_batchnorm_without_affine_then_linear():
    head = probe_head(32, 7)
    bn, linear = head
    assert isinstance(bn, torch.nn.BatchNorm1d) and not bn.affine and bn.eps == 1e-6
    assert linear.bias.abs().sum() == 0 and linear.weight.std() < 0.02


def test_lars_adapts_the_weight_not_the_bias():
    module = ProbeHead(8, 3, lr=0.1, hp={**DEFAULTS, "optimizer": "lars"}, steps=10)
    opt = module.configure_optimizers()["optimizer"]
    by_param = {id(p): g for g in opt.param_groups for p in g["params"]}
    assert by_param[id(module.head[1].weight)]["always_adapt"] is True
    assert by_param[id(module.head[1].bias)]["always_adapt"] is False
    assert all(g["weight_decay"] == 0.0 for g in opt.param_groups)


def test_probe_learns_separable_features_and_is_seed_deterministic():
    x, y = clusters(30)
    xt, yt = clusters(10, seed=1)
    hp = {**DEFAULTS, "epochs": 20, "warmup_epochs": 2, "batch_size": 32}
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu", progress=False))
    first = fitted_head(x, y, 4, 0.1, hp, ctx)
    accuracy = (predictions(first, xt) == yt).float().mean().item()
    assert accuracy > 0.95
    second = fitted_head(x, y, 4, 0.1, hp, ctx)
    assert torch.equal(first.head[1].weight, second.head[1].weight)


def test_lars_barely_moves_a_head_in_a_few_hundred_steps_where_sgd_converges():
    # Why SGD is the default: LARS steps are 1e-3 x lr of the weight norm (MAE tuned it for
    # ~7,000 steps at lr 6.4); an RS-sized probe gets a few hundred.
    x, y = clusters(40)
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu", progress=False))
    hp = {**DEFAULTS, "epochs": 30, "warmup_epochs": 3, "batch_size": 32}
    acc = {}
    for opt in ("sgd", "lars"):
        head = fitted_head(x, y, 4, 0.1, {**hp, "optimizer": opt}, ctx)
        acc[opt] = (predictions(head, x) == y).float().mean().item()
    assert acc["sgd"] == 1.0 and acc["lars"] < 0.7


def test_non_finite_features_fail_the_probe_instead_of_scoring_garbage():
    x, y = clusters(10)
    x[3, 0] = float("nan")
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu", progress=False))
    hp = {**DEFAULTS, "epochs": 2, "warmup_epochs": 0, "batch_size": 8}
    import pytest

    with pytest.raises(FloatingPointError, match="non-finite training loss"):
        fitted_head(x, y, 4, 0.1, hp, ctx)
