"""A model card's checkpoint, checked once per input size, that hands every run its own encoder.

The runner asks it for an encoder per run: the one its check loaded goes to the first run at
that size, later runs read the file again (memory-mapped, no random initialisation), so no run
holds the weights twice and a fine-tune never sees another run's updates.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from rsbench.config import ModelCard

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone, Pool
    from rsbench.runner import RunOptions


class LoadedModel:
    """A card's checkpoint, checked once per input size; every run gets its own fresh encoder.

    The encoder that the check loaded is handed to the first run at that size; later runs read
    the checkpoint again (memory-mapped, no random initialisation), so no run ever holds the
    weights twice and a fine-tune never sees another run's updates.
    """

    def __init__(self, card: ModelCard, opts: RunOptions) -> None:
        self.card, self.opts = card, opts
        self._unclaimed: dict[int, Backbone] = {}  # checked and not yet handed to a run
        self._reports: dict[int, dict | None] = {}
        self._random: dict[int, Backbone] = {}  # random_init: one draw, copied for every run
        self.pool = cast("Pool", card.pool)  # the card allows only cls and avg
        self.sha256 = self._checkpoint_sha256()

    def _checkpoint_sha256(self) -> str | None:
        if self.card.random_init or self.card.checkpoint is None:  # a card has one or the other
            return None
        from rsbench import hashcache
        from rsbench.recorded import checkpoint_sha256

        hashcache.remember_in(self.opts.cache_dir)  # a nightly array hashes a 58 GB file once
        sha = checkpoint_sha256(self.card.checkpoint)  # no torch once this version is known
        if self.card.sha256 and self.card.sha256 != sha:
            from rsbench.checkpoints import CheckpointError

            raise CheckpointError(
                f"{self.card.checkpoint}: sha256 {sha[:12]}… does not match the model card's "
                f"{self.card.sha256[:12]}…; the file changed or the card is wrong")
        return sha

    def spec_for(self, image_size: int):
        return replace(self.card.input_spec, img_size=image_size)

    def _read(self, image_size: int, dtype=None, sharded: bool = False, **extra):
        """The encoder from the file; ``sharded``: lazy, on the meta device, checked by shapes
        and filled shard by shard when the trainer shards it (``lazy_backbone``)."""
        from rsbench.checkpoints import load_backbone
        from rsbench.checkpoints.sharded import lazy_backbone

        card = self.card
        assert card.checkpoint is not None  # a card without one is random_init, never read
        load = lazy_backbone if sharded else load_backbone
        return load(card.checkpoint, card.arch, input_spec=self.spec_for(image_size),
                    pool=self.pool, allow_partial=self.opts.allow_partial, dtype=dtype,
                    **{**card.arch_overrides, **extra})

    def _sharded(self) -> bool:
        """Whether encoders are read lazily, to be filled shard by shard
        (``plan_check.reads_sharded``, the rule the memory plan counts by): then the check
        reads shapes only, and no rank reads the whole file."""
        from rsbench.plan_check import reads_sharded

        return reads_sharded(self.card, self.opts.engine)

    def check(self, image_size: int, dtype=None) -> None:
        """Load at ``image_size`` once, so a bad checkpoint is refused before any data is read."""
        if image_size in self._reports:
            return
        if self.card.random_init:
            from rsbench.backbones import build_backbone

            card = self.card
            self._random[image_size] = build_backbone(card.arch, self.spec_for(image_size),
                                                      self.pool, **card.arch_overrides)
            self._reports[image_size] = None
            return
        backbone = self._read(image_size, dtype, sharded=self._sharded())
        rep = backbone.load_report
        self._reports[image_size] = rep.to_dict() if rep is not None else None
        self._unclaimed[image_size] = backbone

    def backbone(self, image_size: int, dtype=None, sharded: bool = False, **extra):
        """A fresh encoder for one run, its weights in ``dtype`` (fp32 when None; bf16 is read
        as bf16, rsbench.checkpoints.load); ``extra`` timm options (e.g. drop path) rebuild it.

        ``sharded`` (any protocol under ``--strategy fsdp``): a lazy encoder that
        ``rsbench.engine.sharding.shard_module`` fills rank by rank, or a frozen pass fills whole
        (``engine.features.sharded_placement``); a random-init or zoo card gives its ordinary
        encoder, sharded the same way."""
        self.check(image_size, dtype)
        if self.card.random_init:
            drawn = self._random_copy(image_size, **extra)
            if dtype is not None:
                drawn.model.to(dtype)  # the encoder only: input statistics stay fp32
            return drawn
        lazy = sharded and self._sharded()
        unclaimed = self._unclaimed.pop(image_size, None)  # never two copies alive at once
        if not extra and unclaimed is not None and weights_dtype(unclaimed) == dtype_name(dtype) \
                and is_lazy(unclaimed) == lazy:
            return unclaimed
        del unclaimed
        return self._read(image_size, dtype, sharded=lazy, **extra)

    def _random_copy(self, image_size: int, **extra):
        drawn = self._random[image_size]
        if not extra:
            return copy.deepcopy(drawn)
        from rsbench.backbones import build_backbone

        card = self.card
        fresh = build_backbone(card.arch, self.spec_for(image_size), self.pool,
                               **{**card.arch_overrides, **extra})
        fresh.model.load_state_dict(drawn.model.state_dict())
        return fresh

    def report(self, image_size: int) -> dict | None:
        """The load report at ``image_size``; None when it was never loaded (a failed run)."""
        return self._reports.get(image_size)

    def identity(self) -> dict:
        """What identifies the weights and how they are read (record inputs, cache keys)."""
        card = self.card
        return {"name": card.name, "arch": card.arch, "arch_overrides": card.arch_overrides,
                "checkpoint_sha256": self.sha256, "pool": card.pool,
                "input_spec": card.input_spec.to_dict(), "random_init": card.random_init}


def is_lazy(backbone) -> bool:
    """Whether ``backbone`` waits to be filled shard by shard (``lazy_backbone``)."""
    from rsbench.checkpoints.sharded import pending_fill

    return pending_fill(backbone) is not None


def weights_dtype(backbone) -> str:
    """``float32`` / ``bfloat16``: the dtype of an encoder's weights (recorded)."""
    return str(next(backbone.model.parameters()).dtype).removeprefix("torch.")


def dtype_name(dtype) -> str:
    """``float32`` for None, else the torch dtype's name (``bfloat16``)."""
    return "float32" if dtype is None else str(dtype).removeprefix("torch.")
