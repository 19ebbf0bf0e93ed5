"""A blendshape face rig: neutral mesh, triangles, 52 ARKit target deltas, named vertex sets.

Units are the rig's own (the reference head is in centimetres); weights are ARKit-52 in [0, 1]
in `blendtalk.arkit.ARKIT_NAMES` order.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from blendtalk.arkit import ARKIT_NAMES, N_BLENDSHAPES, check_weights
from blendtalk.io import atomic_path

#: The arrays every `save_rig` file holds (vertex sets, colours and the culling flag are optional).
RIG_ARRAYS = ("name", "neutral", "triangles", "deltas", "shape_names")


@dataclass
class Rig:
    """`neutral` (V, 3) float32, `triangles` (F, 3) int32, `deltas` (52, V, 3) float32 in ARKit
    order (a missing shape is all zeros), `vertex_sets` name → int32 vertex indices (at least
    "lips", "upper_face", "eyes", "eye_left", "eye_right", "mouth_upper", "mouth_lower"; the last
    two are paired inner-lip centre vertices whose mean distance is the mouth opening), optional
    per-vertex `colors` (V, 3) in [0, 1]. ARKit's Left is the subject's left.

    `cull_back_faces`: every surface a camera can see is wound counter-clockwise as seen from
    where it is meant to be seen (closed parts from outside), so the renderer skips triangles
    facing away (1.2-1.4x faster). True for the reference head; False for imported rigs, whose
    winding is not known."""

    name: str
    neutral: np.ndarray
    triangles: np.ndarray
    deltas: np.ndarray
    vertex_sets: dict[str, np.ndarray] = field(default_factory=dict)
    colors: np.ndarray | None = None
    cull_back_faces: bool = False

    def __post_init__(self) -> None:
        self.neutral = np.asarray(self.neutral, dtype=np.float32)
        self.triangles = np.asarray(self.triangles, dtype=np.int32)
        self.deltas = np.asarray(self.deltas, dtype=np.float32)
        n_vertices = self.neutral.shape[0] if self.neutral.ndim else 0
        if self.neutral.shape != (n_vertices, 3) or self.deltas.shape != (N_BLENDSHAPES, n_vertices, 3):
            raise ValueError(f"rig {self.name!r}: neutral {self.neutral.shape} and deltas "
                             f"{self.deltas.shape} do not match (V, 3) and (52, V, 3)")
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3 or (
                self.triangles.size and (self.triangles.min() < 0 or self.triangles.max() >= n_vertices)):
            raise ValueError(f"rig {self.name!r}: triangles must be (F, 3) indices into {n_vertices} vertices")
        self.vertex_sets = {k: np.asarray(v, dtype=np.int32).reshape(-1) for k, v in self.vertex_sets.items()}
        for key, idx in self.vertex_sets.items():
            if idx.size and (idx.min() < 0 or idx.max() >= n_vertices):
                raise ValueError(f"rig {self.name!r}: vertex set {key!r} indexes outside {n_vertices} vertices")
        if self.colors is not None:
            self.colors = np.asarray(self.colors, dtype=np.float32).reshape(n_vertices, 3)

    @property
    def n_vertices(self) -> int:
        return int(self.neutral.shape[0])

    def pose(self, weights: np.ndarray) -> np.ndarray:
        """Vertices for weights `(52,)` → `(V, 3)` or `(T, 52)` → `(T, V, 3)`, float32 in the rig's
        units: the neutral plus the weighted deltas, one matrix product for all frames."""
        weights = check_weights(weights, what=f"rig {self.name!r}: pose weights")
        flat = self.deltas.reshape(N_BLENDSHAPES, -1)
        return (self.neutral.reshape(-1) + weights @ flat).reshape(*weights.shape[:-1], self.n_vertices, 3)

    def mouth_opening(self, vertices: np.ndarray) -> np.ndarray:
        """The mouth opening (`metrics.mesh.mouth_opening`) between the "mouth_upper" and
        "mouth_lower" vertex sets, in the rig's units: `(V, 3)` → scalar array, `(T, V, 3)` → `(T,)`."""
        from blendtalk.metrics.mesh import mouth_opening

        return mouth_opening(vertices, self.vertex_sets["mouth_upper"], self.vertex_sets["mouth_lower"])


def save_rig(rig: Rig, path: str | os.PathLike) -> None:
    """Write `rig` as an uncompressed-pickle-free `.npz` (atomic)."""
    arrays = {"name": np.array(rig.name), "neutral": rig.neutral, "triangles": rig.triangles,
              "deltas": rig.deltas, "shape_names": np.array(ARKIT_NAMES),
              "cull_back_faces": np.array(rig.cull_back_faces)}
    arrays.update({f"set_{k}": v for k, v in rig.vertex_sets.items()})
    if rig.colors is not None:
        arrays["colors"] = rig.colors
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def open_npz(path: str | os.PathLike, expected: str) -> np.lib.npyio.NpzFile:
    """Open `path` as an `.npz` archive (never unpickles; use it as a context manager). ValueError
    naming the file and `expected` (what it should hold) when it is not one."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise ValueError(f"{path}: not an .npz archive; expected {expected}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, not an .npz archive; expected {expected}")
    return archive


def load_rig(path: str | os.PathLike) -> Rig:
    """Read a rig written by `save_rig` (never unpickles). ValueError naming the file for anything
    else: not an `.npz`, arrays missing, shape names not the 52 ARKit ones, wrong shapes."""
    expected = f"a rig written by save_rig (arrays {', '.join(RIG_ARRAYS)})"
    with open_npz(path, expected) as z:
        lacking = [k for k in RIG_ARRAYS if k not in z.files]
        if lacking:
            raise ValueError(f"{path}: no array(s) {', '.join(lacking)}; expected {expected}")
        names = tuple(str(n) for n in np.atleast_1d(z["shape_names"]))
        if names != ARKIT_NAMES:
            raise ValueError(f"{path}: shape_names are not the 52 ARKit names in canonical order")
        try:
            return Rig(name=str(z["name"]), neutral=z["neutral"], triangles=z["triangles"], deltas=z["deltas"],
                       vertex_sets={k[4:]: z[k] for k in z.files if k.startswith("set_")},
                       colors=z["colors"] if "colors" in z.files else None,
                       cull_back_faces="cull_back_faces" in z.files and bool(z["cull_back_faces"]))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
