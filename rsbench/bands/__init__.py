"""Bands as names: the sensor registry, model-vs-data band matching, and the one normalisation.

Light to import (no torch): task and card validation use it. ``rsbench.bands.normalise`` and
``rsbench.bands.plan`` hold the torch parts.
"""

#: The normalisations a task may declare as ``dataset.normalisation`` (see ``normalise``).
NORMALISATIONS = ("model", "dataset", "dataset_2sigma", "none")
#: Those computed from the task's training split (once, cached).
DATASET_NORMALISATIONS = ("dataset", "dataset_2sigma")
