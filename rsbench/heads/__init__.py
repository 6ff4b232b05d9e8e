"""Task heads that sit on a Backbone."""

from rsbench.heads.linear import finetune_head, probe_head

__all__ = ["finetune_head", "probe_head"]
