"""The renderer settings described by the `render:` config section."""

from __future__ import annotations

from typing import Any

from blendtalk.render.renderer import RenderSettings


def render_settings(cfg: dict[str, Any]) -> RenderSettings:
    """The `RenderSettings` (size, camera, background, multisampling) of a validated `render:`
    section (schema defaults already filled by `blendtalk.config.validate_config`)."""
    camera = cfg["camera"]
    return RenderSettings(width=cfg["resolution"], height=cfg["resolution"], fov_deg=camera["fov_deg"],
                          azimuth_deg=camera["azimuth_deg"], elevation_deg=camera["elevation_deg"],
                          zoom=camera["zoom"], background=tuple(cfg["background"]),
                          samples=cfg["multisampling"])
