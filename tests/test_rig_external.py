"""External rigs: OBJ folders and .npz files mapped to ARKit-52 by name (ICT-FaceKit convention)."""

from __future__ import annotations

import functools
import http.server
import logging
import threading

import numpy as np
import pytest

from blendtalk.arkit import INDEX
from blendtalk.render.external import (arkit_targets, download_ict_facekit, load_external_rig, load_npz_rig,
                                       load_obj_folder, read_obj)
from blendtalk.render.rig import load_rig, save_rig

# a 2 × 1 strip of quads, x from -1 to 1: vertices 0..5, two quads and one triangle
NEUTRAL = np.array([[-1, 0, 0], [0, 0, 0], [1, 0, 0], [-1, 1, 0], [0, 1, 0], [1, 1, 0]], float)


def write_obj(path, vertices, faces=("f 1/1/1 2/2/2 5/5/5 4/4/4", "f 2 3 6 5", "f -6 -5 -3")):
    lines = ["# test", "mtllib none.mtl"] + [f"v {x} {y} {z}" for x, y, z in vertices]
    lines += ["vt 0 0"] * 6 + ["vn 0 0 1"] + list(faces)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def obj_folder(tmp_path):
    write_obj(tmp_path / "neutral.obj", NEUTRAL)
    moves = {"eyeBlink_L": (2, (0, -0.5, 0)), "eyeBlink_R": (0, (0, -0.25, 0)), "jawOpen": (1, (0, -1, 0)),
             "browInnerUp_L": (5, (0, 0.2, 0)), "browInnerUp_R": (3, (0, 0.3, 0)),
             "PupilDilate_L": (2, (0.1, 0, 0))}
    for name, (vertex, delta) in moves.items():
        target = NEUTRAL.copy()
        target[vertex] += delta
        write_obj(tmp_path / f"{name}.obj", target)
    smile = NEUTRAL.copy()
    smile[[0, 2], 1] += 0.4  # a side-less mouthSmile moving both corners
    write_obj(tmp_path / "mouthSmile.obj", smile)
    return tmp_path


def test_names_map_to_arkit():
    assert arkit_targets("eyeBlink_L") == ("eyeBlinkLeft",)
    assert arkit_targets("mouthSmile_R") == ("mouthSmileRight",)
    assert arkit_targets("jawOpen") == ("jawOpen",)
    assert arkit_targets("browInnerUp_L") == ("browInnerUp",)  # summed with _R
    assert arkit_targets("cheekSquint") == ("cheekSquintLeft", "cheekSquintRight")  # split by side
    assert arkit_targets("eyeBlinkLeft") == ("eyeBlinkLeft",)
    assert arkit_targets("PupilDilate_L") == () and arkit_targets("identity000") == ()


def test_read_obj_triangulates_polygons(obj_folder):
    v, f = read_obj(obj_folder / "neutral.obj")
    np.testing.assert_array_equal(v, NEUTRAL)
    np.testing.assert_array_equal(f, [[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4], [0, 1, 3]])


def test_obj_folder_maps_sums_and_splits(obj_folder, caplog):
    with caplog.at_level(logging.INFO):
        rig, report = load_obj_folder(obj_folder)
    d = rig.deltas
    assert rig.name == obj_folder.name and rig.triangles.shape == (5, 3)
    np.testing.assert_allclose(d[INDEX["eyeBlinkLeft"]][2], (0, -0.5, 0))
    np.testing.assert_allclose(d[INDEX["eyeBlinkRight"]][0], (0, -0.25, 0))
    np.testing.assert_allclose(d[INDEX["jawOpen"]][1], (0, -1, 0))
    np.testing.assert_allclose(d[INDEX["browInnerUp"]][[5, 3]], [(0, 0.2, 0), (0, 0.3, 0)])  # L + R summed
    # the side-less smile is split by x: the +X corner is the subject's left
    np.testing.assert_allclose(d[INDEX["mouthSmileLeft"]][:, 1], [0, 0, 0.4, 0, 0, 0])
    np.testing.assert_allclose(d[INDEX["mouthSmileRight"]][:, 1], [0.4, 0, 0, 0, 0, 0])
    assert report.mapped["browInnerUp"] == ["browInnerUp_L", "browInnerUp_R"]
    assert report.split == ["mouthSmile"] and report.unmapped == ["PupilDilate_L"]
    assert len(report.missing) == 52 - 6 and "tongueOut" in report.missing
    assert np.abs(np.delete(d, [INDEX[n] for n in report.mapped], axis=0)).max() == 0
    assert "PupilDilate_L" in caplog.text and "tongueOut" in caplog.text


def test_npz_rig_matches_obj_folder_and_round_trips(obj_folder, tmp_path):
    rig, _ = load_obj_folder(obj_folder)
    arrays = {"neutral": NEUTRAL.astype(np.float32), "faces": rig.triangles}
    for name in ("eyeBlink_L", "eyeBlink_R", "jawOpen", "browInnerUp_L", "browInnerUp_R", "mouthSmile"):
        arrays[f"delta_{name}"] = (read_obj(obj_folder / f"{name}.obj")[0] - NEUTRAL).astype(np.float16)
    np.savez(tmp_path / "mini.npz", **arrays)
    from_npz, report = load_external_rig(tmp_path / "mini.npz")
    np.testing.assert_allclose(from_npz.deltas, rig.deltas, atol=1e-3)
    assert report.unmapped == [] and from_npz.name == "mini"
    save_rig(from_npz, tmp_path / "out.npz")
    np.testing.assert_array_equal(load_rig(tmp_path / "out.npz").deltas, from_npz.deltas)


def test_mismatched_vertex_counts_are_rejected(obj_folder):
    write_obj(obj_folder / "jawOpen.obj", NEUTRAL[:5])
    with pytest.raises(ValueError, match=r"jawOpen\.obj: 5 vertices; expected 6, as in the neutral neutral\.obj"):
        load_obj_folder(obj_folder)


def test_malformed_obj_lines_name_the_file_and_line(tmp_path):
    write_obj(tmp_path / "bad_v.obj", NEUTRAL, faces=("v 1 2",))
    with pytest.raises(ValueError, match=r"bad_v\.obj line 16: expected 'v x y z' or 'f i j k \.\.\.', got 'v 1 2'"):
        read_obj(tmp_path / "bad_v.obj")
    write_obj(tmp_path / "bad_f.obj", NEUTRAL, faces=("f 1 2 x",))
    with pytest.raises(ValueError, match=r"bad_f\.obj line 16: .*got 'f 1 2 x'"):
        read_obj(tmp_path / "bad_f.obj")
    write_obj(tmp_path / "neutral.obj", NEUTRAL, faces=("f 1 2 9",))
    with pytest.raises(ValueError, match=r"neutral\.obj: a face refers to a vertex outside its 6 vertices"):
        load_obj_folder(tmp_path, neutral="neutral.obj")


def test_wrong_format_npz_rigs_name_the_file(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match=r"text\.npz: not an \.npz archive; expected a rig written by save_rig"):
        load_external_rig(tmp_path / "text.npz")
    np.savez(tmp_path / "nofaces.npz", neutral=NEUTRAL, delta_jawOpen=np.zeros_like(NEUTRAL))
    with pytest.raises(ValueError, match=r"nofaces\.npz: no array\(s\) faces; expected named shapes"):
        load_external_rig(tmp_path / "nofaces.npz")
    np.savez(tmp_path / "short.npz", neutral=NEUTRAL, faces=[[0, 1, 2]], delta_jawOpen=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"short\.npz: rig 'short': shape 'jawOpen' has \(5, 3\), neutral \(6, 3\)"):
        load_npz_rig(tmp_path / "short.npz")


def test_download_from_a_local_server(tmp_path, obj_folder):
    served = tmp_path / "served"
    served.mkdir()
    for f in obj_folder.glob("*.obj"):
        (served / ("generic_neutral_mesh.obj" if f.stem == "neutral" else f.name)).write_bytes(f.read_bytes())
    (served / "vertex_indices.json").write_text('{"expressions": ["eyeBlink_L", "jawOpen", "mouthSmile"]}')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dest = download_ict_facekit(tmp_path / "ict", base_url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert sorted(p.name for p in dest.glob("*.obj")) == ["eyeBlink_L.obj", "generic_neutral_mesh.obj",
                                                          "jawOpen.obj", "mouthSmile.obj"]
    rig, report = load_obj_folder(dest)
    assert set(report.mapped) == {"eyeBlinkLeft", "jawOpen", "mouthSmileLeft", "mouthSmileRight"}


@pytest.mark.needs_shared
def test_ict_facekit_npz(shared_dir):
    rig, report = load_npz_rig(shared_dir / "rigs" / "ict_facekit" / "ict_facekit_expressions.npz")
    assert rig.n_vertices == 26719 and len(rig.triangles) == 52220
    assert report.missing == ["tongueOut"]
    assert sorted(report.unmapped) == ["PupilDilate_L", "PupilDilate_R", "cheekRaiser_L", "cheekRaiser_R"]
    assert report.mapped["browInnerUp"] == ["browInnerUp_L", "browInnerUp_R"]
    assert report.mapped["cheekPuff"] == ["cheekPuff_L", "cheekPuff_R"]
    # ICT's _L is the subject's left (+X), like ARKit's Left
    moved = np.linalg.norm(rig.deltas[INDEX["eyeBlinkLeft"]], axis=1) > 0.1
    assert rig.neutral[moved, 0].min() > 0
    sets = rig.vertex_sets
    for name in ("eyes", "eye_left", "eye_right", "lips", "upper_face", "mouth_upper", "mouth_lower"):
        assert len(sets[name]) > 0, name
    gap = lambda v: np.linalg.norm(v[sets["mouth_upper"]] - v[sets["mouth_lower"]], axis=1).mean()  # noqa: E731
    w = np.zeros(52, np.float32)
    w[INDEX["jawOpen"]] = 1
    assert gap(rig.pose(w)) > gap(rig.neutral) + 1.0


@pytest.mark.needs_shared
def test_ict_facekit_obj_folder_matches_npz(shared_dir, tmp_path):
    ict = shared_dir / "rigs" / "ict_facekit"
    rig, report = load_obj_folder(ict)  # generic_neutral_mesh.obj + jawOpen.obj
    assert list(report.mapped) == ["jawOpen"] and len(report.missing) == 51
    from_npz, _ = load_npz_rig(ict / "ict_facekit_expressions.npz")
    np.testing.assert_allclose(rig.neutral, from_npz.neutral, atol=1e-4)
    np.testing.assert_allclose(rig.deltas[INDEX["jawOpen"]], from_npz.deltas[INDEX["jawOpen"]], atol=5e-3)
    np.testing.assert_array_equal(rig.triangles, from_npz.triangles)  # same fan triangulation


def test_workflow_imports_a_configured_obj_folder_rig(obj_folder, tmp_path):
    import yaml

    from conftest import make_workdir, run_snakemake

    workdir = make_workdir(tmp_path / "wf")
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["render"]["rig"] = str(obj_folder)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    target = f"results/rig/{obj_folder.name}.npz"
    run_snakemake(workdir, target)
    imported = load_rig(workdir / target)
    direct, _ = load_external_rig(obj_folder)
    np.testing.assert_array_equal(imported.neutral, direct.neutral)
    np.testing.assert_array_equal(imported.deltas, direct.deltas)
    assert "missing ARKit shapes" in (workdir / f"logs/render/import_{obj_folder.name}.log").read_text()
