"""Task-type plugins, chosen by the ``type:`` string of a task YAML.

A plugin module has a tiny contract: ``TYPE``, ``PROTOCOLS`` (protocol name -> implementing module),
``METRICS``, ``build_data(task, data_root, cache_dir, download, train_transform)`` and
``scores(preds, target, num_classes) -> dict``. Optional, read by the frozen protocols:
``probe_loss(logits, target)`` (the linear probe's loss instead of cross-entropy; the head is then
scored on its logits) and ``knn_scores(votes, target, num_classes)`` (kNN scored on the votes,
the weighted mean of the neighbours' label vectors, instead of the voted class).
"""

from rsbench.registry import Registry

TASK_TYPES = Registry("task type")
TASK_TYPES.register("classification", "rsbench.tasks.classification")
TASK_TYPES.register("segmentation", "rsbench.tasks.segmentation")
TASK_TYPES.register("detection", "rsbench.tasks.detection")
TASK_TYPES.register("multilabel", "rsbench.tasks.multilabel")


def plugin(task_type: str):
    """The plugin module for ``task_type``."""
    return TASK_TYPES.get(task_type)


__all__ = ["TASK_TYPES", "plugin"]
