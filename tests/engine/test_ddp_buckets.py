"""DDP trains with each gradient a view into its all-reduce buckets, not beside a copy of them."""

import pytest


def fitted(seen: list, **overrides) -> tuple[dict, dict]:
    """Two SGD steps of a small MLP through ``make_trainer`` under DDP on one rank; its weights
    before and after. ``overrides`` go to the trainer (rsbench's own ``data_parallel`` unless
    another strategy is given); ``seen`` gets, after each backward, how many gradients there
    are and how many storages hold them."""
    import lightning as L
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from rsbench.engine import EngineOptions, make_trainer
    from rsbench.engine.trainer import data_parallel

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def on_after_backward(self) -> None:
            grads = [p.grad for p in self.parameters()]
            seen.append((len(grads), len({g.untyped_storage().data_ptr() for g in grads})))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    L.seed_everything(0, verbose=False)
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(8, 8, generator=g), torch.randint(0, 3, (8,), generator=g))
    module = Module()
    start = {k: v.detach().clone() for k, v in module.state_dict().items()}
    opts = EngineOptions(accelerator="cpu", devices=1, strategy="ddp", precision="32-true",
                         progress=False)
    overrides.setdefault("strategy", data_parallel())
    make_trainer(opts, max_steps=2, **overrides).fit(module, DataLoader(data, batch_size=4))
    return start, {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.usefixtures("in_process_distributed")
def test_ddp_gradients_live_in_its_buckets_and_train_as_lightnings_default_ddp():
    import torch
    from lightning.pytorch.strategies import DDPStrategy

    default_seen: list = []
    _, default = fitted(default_seen, strategy=DDPStrategy())
    seen: list = []
    start, ours = fitted(seen)
    # Under Lightning's default DDP every gradient is its own tensor beside the buckets; under
    # rsbench's the four gradients are views into one bucket, so no second copy is kept.
    assert default_seen == [(4, 4), (4, 4)]
    assert seen == [(4, 1), (4, 1)]
    assert default.keys() == ours.keys()
    assert all(torch.equal(default[k], ours[k]) for k in default)
    assert not any(torch.equal(start[k], ours[k]) for k in start)  # it trained


def test_ddp_is_rsbenchs_own_on_several_ranks_and_absent_on_one():
    from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy

    from rsbench.engine import EngineOptions, make_trainer

    for strategy in ("auto", "ddp", "fsdp"):  # fsdp without a workload: see test_engine_memory
        several = make_trainer(EngineOptions(accelerator="cpu", devices=2, strategy=strategy,
                                             progress=False)).strategy
        assert isinstance(several, DDPStrategy)
        assert several._ddp_kwargs == {"gradient_as_bucket_view": True}
    one = make_trainer(EngineOptions(accelerator="cpu", devices=1, strategy="ddp", progress=False))
    assert type(one.strategy) is SingleDeviceStrategy
