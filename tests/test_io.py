"""Atomic writes: the target appears whole or not at all, with normal permissions."""

import os
import stat

import pytest

from blendtalk.io import atomic_dir, atomic_path


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_file_gets_umask_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a" / "out.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a" / "out.txt") == 0o644
    assert os.listdir(tmp_path / "a") == ["out.txt"]


def test_atomic_file_untouched_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_dir_replaces_whole_directory(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale").write_text("old")
    old = os.umask(0o022)
    try:
        with atomic_dir(target) as tmp:
            (tmp / "weights").write_text("new")
    finally:
        os.umask(old)
    assert sorted(os.listdir(target)) == ["weights"]
    assert _mode(target) == 0o755
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "partial").write_text("x")
        raise RuntimeError
    assert sorted(os.listdir(target)) == ["weights"]
    assert os.listdir(tmp_path) == ["model"]
