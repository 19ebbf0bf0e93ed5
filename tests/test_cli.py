"""The `blendtalk` command line refuses hostile input in one readable line: a non-zero exit status,
exactly one line on stderr that names the file, argument or key and the reason, and a traceback
only with `--debug`. Nothing is rendered here: every case fails before the first frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blendtalk.arkit import INDEX
from blendtalk.cli import main
from blendtalk.render.rig import save_rig
from blendtalk.render.sphere_rig import build_sphere_rig

MISSING_ROOT_DIR = "/blendtalk-test-no-such-dir"


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without config.yaml (schema defaults) holding good and bad inputs."""
    monkeypatch.chdir(tmp_path)
    save_rig(build_sphere_rig(1), tmp_path / "rig.npz")
    np.save(tmp_path / "seq.npy", np.zeros((10, 52), np.float32))
    np.save(tmp_path / "short.npy", np.zeros((4, 52), np.float32))
    np.save(tmp_path / "wide.npy", np.zeros((10, 51), np.float32))
    nan = np.zeros((10, 52), np.float32)
    nan[1, INDEX["jawOpen"]] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.savez(tmp_path / "keys.npz", neutral=np.zeros((3, 3)))
    (tmp_path / "seq.txt").write_text("0 0 0\n")
    (tmp_path / "notarig.npz").write_text("not an archive\n")
    (tmp_path / "notlivelink.csv").write_text("frame,jaw\n0,0.5\n")
    pd.DataFrame({"frame": [0, 1], "jaw": [0.1, 0.2]}).to_parquet(tmp_path / "noarkit.parquet")
    (tmp_path / "unknown_key.yaml").write_text("render:\n  bogus: 1\n")
    (tmp_path / "broken.yaml").write_text("render: [unclosed\n")
    (tmp_path / "resolution.yaml").write_text("render:\n  resolution: 0\n")
    return tmp_path


RENDER = ["render", "seq.npy", "-o", "out.mp4", "--rig", "rig.npz"]
EXPR = ["expr", "--aus", "6C"]

CASES = [  # (argv, what the error line must say)
    (["--config", "missing.yaml", *EXPR], "--config: missing.yaml: no such file"),
    (["--config", ".", *EXPR], "--config: . is a directory"),
    (["--config", "unknown_key.yaml", *EXPR], "'render.bogus' is not a known setting"),
    (["--config", "resolution.yaml", *RENDER], "'render.resolution'"),
    (["--config", "broken.yaml", *EXPR], "broken.yaml"),
    (["expr", "--aus", ""], "--aus: no action units given"),
    (["expr", "--aus", "6Q"], "--aus: bad AU token '6Q'"),
    (["expr", "--aus", "99C"], "AU 99 is not in the mapping"),
    ([*EXPR, "--frames", "0"], "--frames: must be a whole number of at least 1, got '0'"),
    ([*EXPR, "--fps", "0"], "--fps: must be a number greater than 0, got '0'"),
    ([*EXPR, "--fps", "nan"], "--fps: must be a number greater than 0, got 'nan'"),
    ([*EXPR, "-o", f"{MISSING_ROOT_DIR}/x.csv"], f"directory {MISSING_ROOT_DIR} does not exist"),
    ([*EXPR, "-o", "no/such/dir/x.csv"], "directory no/such/dir does not exist"),
    ([*EXPR, "-o", "."], "-o/--output: . is a directory"),
    ([*RENDER, "--resolution", "0"], "--resolution: must be a positive even number of pixels, got '0'"),
    ([*RENDER, "--resolution", "33"], "--resolution: must be a positive even number of pixels, got '33'"),
    ([*RENDER, "--resolution", "-4"], "--resolution: must be a positive even number of pixels, got '-4'"),
    (["render", "missing.npy", "-o", "out.mp4"], "sequence: missing.npy: no such file"),
    (["render", "seq.txt", "-o", "out.mp4"], "seq.txt: unsupported sequence format '.txt'"),
    (["render", "wide.npy", "-o", "out.mp4"], "wide.npy: expected (T, 52) weights, got shape (10, 51)"),
    (["render", "nan.npy", "-o", "out.mp4"], "nan.npy: row 1, column jawOpen: nan is not finite"),
    (["render", "notlivelink.csv", "-o", "out.mp4"], "notlivelink.csv line 1: no Timecode column"),
    (["render", "noarkit.parquet", "-o", "out.mp4"], "noarkit.parquet: missing 52 ARKit column(s)"),
    ([*RENDER[:-1], "notarig.npz"], "notarig.npz: not an .npz archive"),
    ([*RENDER[:-1], "keys.npz"], "keys.npz: no array(s) faces, delta_<shape>"),
    ([*RENDER[:-1], "missing.npz"], "--rig: missing.npz: no such file or directory"),
    ([*RENDER, "--compare", "short.npy"], "comparison sequence has shape (4, 52), expected (10, 52)"),
    ([*RENDER, "--wav", "missing.wav"], "--wav: missing.wav: no such file"),
    (["render", "seq.npy", "-o", f"{MISSING_ROOT_DIR}/o.mp4"], f"directory {MISSING_ROOT_DIR} does not exist"),
    (["text2expr", "hello", "--model-dir", "nomodel"], "no trained text2expr model in nomodel"),
    ([*EXPR[:-1]], "--aus: expected one argument"),
    (["nosuch"], "invalid choice: 'nosuch'"),
    ([], "the following arguments are required: command"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(a) or "<none>" for a, _ in CASES])
def test_hostile_invocation_fails_in_one_line(tmp, capsys, argv, message):
    status = main(argv)
    err = capsys.readouterr().err
    assert status != 0
    assert len(err.splitlines()) == 1, err
    assert err.startswith("blendtalk") and ": error: " in err
    assert message in err
    assert "Traceback" not in err
    assert not Path(MISSING_ROOT_DIR).exists() and not (tmp / "no").exists()  # no directory made
    assert not (tmp / "out.mp4").exists()


def test_debug_adds_the_traceback(tmp, capsys):
    assert main(["--debug", "render", "nan.npy", "-o", "out.mp4"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.splitlines()[-1].startswith("blendtalk render: error: nan.npy: row 1, column jawOpen")


def test_implicit_default_config_may_be_absent(tmp, capsys):
    assert not (tmp / "config.yaml").exists()
    assert main([*EXPR, "-o", "smile.csv"]) == 0
    assert "cheekSquintLeft" in capsys.readouterr().out
    assert (tmp / "smile.csv").is_file()


def test_help_exits_zero(capsys):
    assert main(["render", "-h"]) == 0
    assert "Render a (T, 52) ARKit sequence" in capsys.readouterr().out
