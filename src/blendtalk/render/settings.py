"""The renderer settings described by the `render:` config section, and which of its keys each
output depends on (so that a rule's params hold only those: changing `samples_per_emotion`
re-renders no existing video)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the renderer (moderngl) is not imported where only the keys are needed
    from blendtalk.render.renderer import RenderSettings

#: Keys of `render:` that decide a rendered frame (read by `render_settings`).
FRAME_KEYS: tuple[str, ...] = ("resolution", "camera", "background", "multisampling")
#: Keys of `render:` that decide an expression video: its frames, clip length, frame rate,
#: caption and encoding.
VIDEO_KEYS: tuple[str, ...] = FRAME_KEYS + ("duration_s", "fps", "caption", "crf")


def select_keys(cfg: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The `keys` of a validated `render:` section (KeyError naming a missing one)."""
    return {key: cfg[key] for key in keys}


def render_settings(cfg: dict[str, Any]) -> RenderSettings:
    """The `RenderSettings` (size, camera, background, multisampling) of a validated `render:`
    section (schema defaults already filled by `blendtalk.config.validate_config`); only
    `FRAME_KEYS` are read."""
    from blendtalk.render.renderer import RenderSettings

    camera = cfg["camera"]
    return RenderSettings(width=cfg["resolution"], height=cfg["resolution"], fov_deg=camera["fov_deg"],
                          azimuth_deg=camera["azimuth_deg"], elevation_deg=camera["elevation_deg"],
                          zoom=camera["zoom"], background=tuple(cfg["background"]),
                          samples=cfg["multisampling"])
