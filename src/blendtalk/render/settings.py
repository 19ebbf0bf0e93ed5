"""The `render:` config section with every schema default filled in, and the renderer settings
it describes.

`snakemake.utils.validate` does not fill defaults through the `$ref` that links the top-level
schema to `schemas/render.schema.yaml`, so keys a config leaves out are taken from that schema
here (recursively), for the rules and the command line alike.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import yaml

from blendtalk.config import REPO_ROOT
from blendtalk.render.renderer import RenderSettings

SCHEMA = REPO_ROOT / "schemas" / "render.schema.yaml"


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


def render_config(section: dict[str, Any] | None) -> dict[str, Any]:
    """`section` (the config's `render:` mapping, already validated) with defaults filled."""
    return _fill(section or {}, _schema())


def render_settings(section: dict[str, Any] | None) -> RenderSettings:
    """The `RenderSettings` (size, camera, background, multisampling) of a `render:` section."""
    cfg = render_config(section)
    camera = cfg["camera"]
    return RenderSettings(width=cfg["resolution"], height=cfg["resolution"], fov_deg=camera["fov_deg"],
                          azimuth_deg=camera["azimuth_deg"], elevation_deg=camera["elevation_deg"],
                          zoom=camera["zoom"], background=tuple(cfg["background"]),
                          samples=cfg["multisampling"])
