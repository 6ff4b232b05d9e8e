"""The published recipes' numbers, read from the shipped task YAMLs; the code holds their schema.

A recipe is ``tasks/<task type>/_protocols/<protocol>.yaml``: the ``protocol:`` section every
shipped task of that type and protocol includes, commented with its source. Protocol modules
read their defaults from it (``recipe``), so a number lives in one place, and declare a
``SCHEMA`` of allowed keys and types, which :func:`checked_values` applies to whatever a task
resolves to: a key the protocol does not know, or a value of the wrong type, is a ``SpecError``
naming the task file and the key.
"""

from __future__ import annotations

import numbers
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from rsbench.errors import SpecError

#: The shipped task folder (not ``$RSBENCH_TASKS``: a user's own task folder need not hold the
#: recipes the protocols are defined by).
SHIPPED = Path(__file__).resolve().parents[2] / "tasks"
NONE = type(None)
#: A number: an int is accepted wherever a float is (YAML writes 1e-3 and 1 alike).
NUMBER = (numbers.Real,)


@cache
def _read(task_type: str, protocol: str) -> dict:
    path = SHIPPED / task_type / "_protocols" / f"{protocol}.yaml"
    if not path.is_file():
        raise SpecError(f"{path}: the recipe of protocol {protocol!r} for {task_type} tasks is "
                        "missing from the shipped task folder; reinstall rsbench from its repository")
    section = yaml.safe_load(path.read_text()).get("protocol") or {}
    return {k: v for k, v in section.items() if k not in ("name", "recipe")}


@cache
def recipe_sentence(task_type: str, protocol: str) -> str:
    """The recipe's ``recipe:`` sentence, a template over its values (``{lr}`` ...)."""
    path = SHIPPED / task_type / "_protocols" / f"{protocol}.yaml"
    return str((yaml.safe_load(path.read_text()).get("protocol") or {}).get("recipe", ""))


def recipe(task_type: str, protocol: str) -> dict:
    """The recipe's values for ``protocol`` of ``task_type`` (a fresh copy)."""
    import copy

    return copy.deepcopy(_read(task_type, protocol))


def _allowed(value: Any, kinds: tuple) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False  # YAML's true is not a number
    return isinstance(value, kinds)


def checked_values(values: dict, schema: dict[str, tuple], where: str | None) -> dict:
    """``values`` once every key is in ``schema`` with a value of an allowed type."""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise SpecError(f"{where}: protocol option(s) {unknown} are not used by this protocol; "
                        f"allowed: {sorted(schema)}")
    missing = sorted(set(schema) - set(values))
    if missing:
        raise SpecError(f"{where}: protocol option(s) {missing} have no value; include the "
                        "recipe (tasks/<type>/_protocols/<protocol>.yaml) or set them")
    for key, kinds in schema.items():
        value = values[key]
        if not _allowed(value, kinds):
            names = " or ".join(KIND_NAMES.get(k, k.__name__) for k in kinds)
            hint = ""
            if isinstance(value, str) and _is_number(value):  # YAML 1.1 reads 5e-3 as text
                hint = f"; YAML reads {value} as text: write it with a dot, e.g. 5.0e-3"
            raise SpecError(f"{where}: protocol.{key} is {value!r}; expected {names}{hint}")
    return values


KIND_NAMES = {numbers.Real: "a number", int: "an integer", str: "text", bool: "true/false",
              list: "a list", dict: "a mapping", NONE: "null"}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def schema_of(protocol: Any) -> dict[str, tuple] | None:
    """The schema a protocol (module or ``TrainedProtocol`` object) declares, if any."""
    return getattr(protocol, "schema", None) or getattr(protocol, "SCHEMA", None)


#: What a fine-tune adds to its frozen counterpart's keys: the encoder trains.
ENCODER_TRAINING_SCHEMA = {"layer_decay": NUMBER, "drop_path": NUMBER}


def named_recipe(protocol: Any, task_type: str, name: str, common_schema: dict) -> None:
    """Set a dense ``TrainedProtocol``'s ``frozen``, ``defaults``, ``recipe`` and ``schema``
    from ``tasks/<task_type>/_protocols/<name>.yaml`` (``frozen`` or ``finetune``)."""
    protocol.frozen = name == "frozen"
    protocol.defaults = recipe(task_type, name)
    protocol.recipe = recipe_sentence(task_type, name)
    protocol.schema = common_schema if protocol.frozen else {**common_schema, **ENCODER_TRAINING_SCHEMA}
