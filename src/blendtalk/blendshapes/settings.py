"""The `blendshapes:` config section with every schema default filled in.

`snakemake.utils.validate` does not fill defaults through the `$ref` that links the top-level
schema to `schemas/blendshapes.schema.yaml`, so keys a config leaves out are taken from that
schema here, recursively, for the rules and the command line alike.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import yaml

from blendtalk.config import REPO_ROOT

SCHEMA = REPO_ROOT / "schemas" / "blendshapes.schema.yaml"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    with open(SCHEMA, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _fill(value: Any, schema: dict[str, Any]) -> Any:
    if schema.get("type") != "object" or not isinstance(value, dict):
        return value
    out = dict(value)
    for key, sub in schema.get("properties", {}).items():
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = _fill(out[key], sub)
    return out


def blendshapes_settings(section: dict[str, Any] | None) -> dict[str, Any]:
    """`section` (the config's `blendshapes:` mapping, already validated) with defaults filled."""
    return _fill(section or {}, _schema())
