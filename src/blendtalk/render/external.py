"""Load external blendshape rigs: a folder of OBJ files or an `.npz`, mapped to ARKit-52 by name.

Naming follows ICT-FaceKit: ARKit names, with `_L`/`_R` for the subject's left/right (`eyeBlink_L` →
`eyeBlinkLeft`). A side-less shape whose ARKit name has sides (`mouthSmile`) is split by the x side of
each vertex (+X is the subject's left); sided shapes whose ARKit name has no side (`browInnerUp_L`,
`cheekPuff_R`) are summed. Anything else is reported as unmapped; ARKit shapes with no source stay
zero and are reported as missing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blendtalk.arkit import ARKIT_NAMES, INDEX, N_BLENDSHAPES
from blendtalk.render.rig import Rig, load_rig, open_npz

log = logging.getLogger(__name__)

ICT_REPO = "https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/master/FaceXModel"
SIDES = {"_L": "Left", "_R": "Right", "Left": "Left", "Right": "Right"}
SPLIT_BAND = 0.01  # half-width of the left/right blend across x = 0, as a fraction of the mesh width


@dataclass
class RigImportReport:
    """How source shapes were mapped: `mapped` ARKit name → source names (several when summed),
    `split` source names divided into Left/Right by x side, `unmapped` source names used for nothing,
    `missing` ARKit names with no source (left at zero)."""

    mapped: dict[str, list[str]] = field(default_factory=dict)
    split: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def log(self, rig_name: str) -> None:
        log.info("rig %s: %d/52 ARKit shapes mapped", rig_name, N_BLENDSHAPES - len(self.missing))
        if self.split:
            log.info("rig %s: split into Left/Right by x side: %s", rig_name, ", ".join(self.split))
        if self.unmapped:
            log.warning("rig %s: unmapped source shapes: %s", rig_name, ", ".join(self.unmapped))
        if self.missing:
            log.warning("rig %s: missing ARKit shapes (zero): %s", rig_name, ", ".join(self.missing))


def arkit_targets(name: str) -> tuple[str, ...]:
    """ARKit names a source shape contributes to: one (direct, or a side-less sum), two (a split into
    Left and Right), or none (unmapped)."""
    match = re.fullmatch(r"(.+?)(_L|_R|Left|Right)", name)
    if name in INDEX:
        return (name,)
    if match:
        stem, side = match.groups()
        if stem + SIDES[side] in INDEX:
            return (stem + SIDES[side],)
        if stem in INDEX:
            return (stem,)
        return ()
    if name + "Left" in INDEX:
        return (name + "Left", name + "Right")
    return ()


def rig_from_shapes(name: str, neutral: np.ndarray, triangles: np.ndarray,
                    shapes: dict[str, np.ndarray]) -> tuple[Rig, RigImportReport]:
    """Build a rig from source deltas `shapes` (source name → (V, 3), target minus neutral), by name."""
    neutral = np.asarray(neutral, dtype=np.float64)
    if neutral.ndim != 2 or neutral.shape[1] != 3:
        raise ValueError(f"rig {name!r}: neutral has shape {neutral.shape}, expected (V, 3)")
    deltas = np.zeros((N_BLENDSHAPES, len(neutral), 3))
    x = neutral[:, 0]
    band = SPLIT_BAND * max(float(np.ptp(x)), 1e-9)
    left = np.clip(0.5 + 0.5 * x / band, 0.0, 1.0)[:, None]  # subject's left is +X
    report = RigImportReport()
    for source in sorted(shapes):
        delta = np.asarray(shapes[source], dtype=np.float64)
        if delta.shape != neutral.shape:
            raise ValueError(f"rig {name!r}: shape {source!r} has {delta.shape}, neutral {neutral.shape}")
        targets = arkit_targets(source)
        if len(targets) == 2:
            report.split.append(source)
            parts = (delta * left, delta * (1.0 - left))
        else:
            parts = (delta,) * len(targets)
        for target, part in zip(targets, parts):
            deltas[INDEX[target]] += part
            report.mapped.setdefault(target, []).append(source)
        if not targets:
            report.unmapped.append(source)
    report.missing = [n for n in ARKIT_NAMES if n not in report.mapped]
    rig = Rig(name=name, neutral=neutral, triangles=triangles, deltas=deltas)
    rig.vertex_sets = derive_vertex_sets(rig)
    report.log(name)
    return rig, report


def read_obj(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 and triangles (F, 3) int32 of an OBJ file (polygons fan-triangulated;
    texture/normal indices and everything but `v`/`f` ignored). ValueError naming the file and line
    of a `v` line without three numbers or an `f` line without three vertex indices."""
    verts, faces = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.startswith(("v ", "f ")):
                continue
            fields = line.split()[1:]
            try:
                if len(fields) < 3:
                    raise ValueError
                if line[0] == "v":
                    verts.append([float(x) for x in fields[:3]])
                else:
                    idx = [int(tok.split("/")[0]) for tok in fields]
                    idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
                    faces += [(idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1)]
            except ValueError:
                raise ValueError(f"{path} line {line_no}: expected 'v x y z' or 'f i j k ...', "
                                 f"got {line.strip()[:60]!r}") from None
    return np.array(verts, dtype=np.float64).reshape(-1, 3), np.array(faces, dtype=np.int32).reshape(-1, 3)


def load_obj_folder(folder: str | os.PathLike, neutral: str | None = None,
                    name: str | None = None) -> tuple[Rig, RigImportReport]:
    """Rig from a folder of OBJ files: the neutral mesh (`neutral` file name, else the one file whose
    name contains "neutral") and one OBJ per shape named as in the module docstring."""
    folder = Path(folder)
    files = sorted(folder.glob("*.obj"))
    if neutral is None:
        candidates = [f.name for f in files if "neutral" in f.stem.lower()]
        if len(candidates) != 1:
            raise ValueError(f"{folder}: expected one OBJ with 'neutral' in its name, found {candidates}")
        neutral = candidates[0]
    base, triangles = read_obj(folder / neutral)
    if triangles.size and (triangles.min() < 0 or triangles.max() >= len(base)):
        raise ValueError(f"{folder / neutral}: a face refers to a vertex outside its {len(base)} vertices")
    shapes = {}
    for f in files:
        if f.name != neutral:
            verts, _ = read_obj(f)
            if verts.shape != base.shape:
                raise ValueError(f"{f}: {len(verts)} vertices; expected {len(base)}, as in the neutral "
                                 f"{neutral} (every target must be the neutral mesh, moved)")
            shapes[f.stem] = verts - base
    return rig_from_shapes(name or folder.name, base, triangles, shapes)


def load_npz_rig(path: str | os.PathLike, name: str | None = None) -> tuple[Rig, RigImportReport]:
    """Rig from an `.npz` with `neutral` (V, 3), `faces` (F, 3) and `delta_<shape>` (V, 3) arrays
    (the layout of the converted ICT-FaceKit set); never unpickles. ValueError naming the file
    when arrays are missing or of the wrong shape."""
    path = Path(path)
    expected = "named shapes: neutral (V, 3), faces (F, 3) and delta_<shape> (V, 3) arrays"
    with open_npz(path, expected) as z:
        shapes = {k[len("delta_"):]: z[k] for k in z.files if k.startswith("delta_")}
        lacking = [k for k in ("neutral", "faces") if k not in z.files]
        if not shapes:
            lacking.append("delta_<shape>")
        if lacking:
            raise ValueError(f"{path}: no array(s) {', '.join(lacking)}; expected {expected}")
        try:
            return rig_from_shapes(name or path.stem, z["neutral"], z["faces"], shapes)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def load_external_rig(path: str | os.PathLike, name: str | None = None) -> tuple[Rig, RigImportReport]:
    """Load a folder of OBJ files, an `.npz` of named shapes (see `load_obj_folder`,
    `load_npz_rig`) or a rig written by `save_rig` (all 52 shapes, mapped as they are)."""
    path = Path(path)
    if path.is_dir():
        return load_obj_folder(path, name=name)
    with open_npz(path, "a rig written by save_rig, or named shapes (neutral, faces, delta_<shape>)") as z:
        native = "shape_names" in z.files
    if native:
        return load_rig(path), RigImportReport(mapped={n: [n] for n in ARKIT_NAMES})
    return load_npz_rig(path, name=name)


def _strong(rig: Rig, names: list[str], fraction: float) -> np.ndarray:
    """Vertices whose displacement summed over `names` exceeds `fraction` of its maximum."""
    mag = sum(np.linalg.norm(rig.deltas[INDEX[n]], axis=1) for n in names)
    return np.flatnonzero(mag > fraction * mag.max()) if np.max(mag) > 0 else np.zeros(0, np.int64)


def derive_vertex_sets(rig: Rig) -> dict[str, np.ndarray]:
    """Vertex sets of a rig without authored ones, from its targets: "eye_left"/"eye_right" (moved by
    that blink), "eyes", "lips" (moved by pucker and funnel), "upper_face" (moved by brows, eyes,
    cheek squint or nose, not by the jaw), "mouth_upper"/"mouth_lower" (the pair of lip vertices on the
    midline whose distance grows most with jawOpen). Sets whose targets are missing are left out."""
    sets: dict[str, np.ndarray] = {}
    for side in ("Left", "Right"):
        eye = _strong(rig, [f"eyeBlink{side}"], 0.1)
        if eye.size:
            sets[f"eye_{side.lower()}"] = eye
    if sets:
        sets["eyes"] = np.union1d(*[sets.get(k, np.zeros(0, np.int64)) for k in ("eye_left", "eye_right")])
    lips = _strong(rig, ["mouthPucker", "mouthFunnel"], 0.3)
    if lips.size:
        sets["lips"] = lips
    upper = _strong(rig, [n for n in ARKIT_NAMES if n.startswith(("brow", "eye", "cheekSquint", "nose"))], 0.05)
    jaw = _strong(rig, ["jawOpen"], 0.05)
    if upper.size:
        sets["upper_face"] = np.setdiff1d(upper, jaw)
    if lips.size and jaw.size:
        x = rig.neutral[:, 0]
        mid = lips[np.abs(x[lips] - np.median(x)) < 0.02 * np.ptp(x)]
        drop = -rig.deltas[INDEX["jawOpen"]][mid, 1]
        if mid.size >= 2 and np.ptp(drop) > 0:
            moving = drop > 0.5 * (drop.min() + drop.max())
            y = rig.neutral[mid, 1]
            sets["mouth_upper"] = mid[~moving][[np.argmin(y[~moving])]]
            sets["mouth_lower"] = mid[moving][[np.argmax(y[moving])]]
    return sets


def download_ict_facekit(dest: str | os.PathLike, base_url: str = ICT_REPO, timeout: float = 60.0) -> Path:
    """Fetch ICT-FaceKit's expression OBJs (MIT licence) from its public GitHub repository into `dest`
    (a folder `load_obj_folder` reads). Needs internet; never called by the default workflow. The
    expression list comes from the kit's own `vertex_indices.json`. Returns `dest`."""
    import json

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)

    def fetch(rel: str) -> Path:
        target = dest / Path(rel).name
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".part")
            with urllib.request.urlopen(f"{base_url}/{rel}", timeout=timeout) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out)
            tmp.replace(target)
        return target

    fetch("generic_neutral_mesh.obj")
    index = json.loads(fetch("vertex_indices.json").read_text(encoding="utf-8"))
    for expression in index["expressions"]:
        fetch(f"{expression}.obj")
    return dest
