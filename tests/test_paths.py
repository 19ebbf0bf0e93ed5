"""blendtalk.paths: the project root, the one cache root, paths kept inside them, and bundled
resources found in a non-editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blendtalk import paths
from conftest import REPO


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    (root / "Snakefile").write_text("")
    monkeypatch.chdir(root / "sub")
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    return root.resolve()


def test_project_and_cache_root(project, monkeypatch, tmp_path):
    assert paths.project_root() == project
    assert paths.cache_root() == project / ".cache"
    assert paths.in_cache(".cache/corpora/a.tsv") == ".cache/corpora/a.tsv"
    assert paths.in_cache("resources/x.csv") == "resources/x.csv"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert paths.cache_root() == (tmp_path / "elsewhere").resolve()
    assert paths.in_cache(".cache/corpora/a.tsv") == str(tmp_path / "elsewhere" / "corpora" / "a.tsv")


@pytest.mark.parametrize("path", ["../outside.tsv", ".cache/../../outside.tsv", "/etc/passwd"])
def test_paths_escaping_the_project_are_refused_naming_the_key(project, path):
    with pytest.raises(paths.PathEscapeError, match=r"config key 'a\.b\.path'.*outside"):
        paths.ensure_inside(path, "a.b.path")


def test_paths_inside_project_or_cache_root_are_accepted(project, monkeypatch, tmp_path):
    assert paths.ensure_inside("results/x", "k") == project / "results" / "x"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    assert paths.ensure_inside(".cache/corpora/x", "k") == (tmp_path / "cache" / "corpora" / "x").resolve()


def test_resource_prefers_the_project_copy_then_the_packaged_one(project):
    packaged = paths.resource("resources/facs/au_to_arkit.csv")
    assert packaged.read_bytes() == (REPO / "resources" / "facs" / "au_to_arkit.csv").read_bytes()
    own = project / "resources" / "facs" / "au_to_arkit.csv"
    own.parent.mkdir(parents=True)
    own.write_text("au,blendshape,weight,reasoning\n")
    assert paths.resource("resources/facs/au_to_arkit.csv") == own
    with pytest.raises(FileNotFoundError, match="no_such.csv"):
        paths.resource("resources/no_such.csv")


def _source_packages() -> set[str]:
    src = REPO / "src"
    return {".".join(d.relative_to(src).parts) for d in (src / "blendtalk").rglob("*")
            if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))} | {"blendtalk"}


INSTALLED_CHECK = """
import sys
from pathlib import Path
import blendtalk, blendtalk.paths as paths, blendtalk.config as config
assert Path(blendtalk.__file__).is_relative_to(Path(sys.argv[1])), blendtalk.__file__
assert config.SCHEMA.is_file() and config.SCHEMA.is_relative_to(Path(sys.argv[1]))
print(sorted(config.load_config()["corpora"]["sources"]))
print(paths.resource("resources/facs/au_to_arkit.csv").read_text().splitlines()[0])
"""


@pytest.mark.slow
def test_non_editable_install_carries_resources_and_schemas(tmp_path):
    tree = tmp_path / "tree"  # build from a copy: a build writes build/ beside pyproject.toml
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "src", "resources", "schemas"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, tree / name, **({"ignore": shutil.ignore_patterns("*.egg-info",
                                                                   "__pycache__")}
                                             if copy is shutil.copytree else {}))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(tree)],
                   check=True, capture_output=True)
    installed = {".".join(d.relative_to(target).parts) for d in (target / "blendtalk").rglob("*")
                 if d.is_dir() and any(d.glob("*.py"))} | {"blendtalk"}
    assert _source_packages() <= installed, "add the missing packages to pyproject.toml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-c", INSTALLED_CHECK, str(target)],
                          cwd=elsewhere, capture_output=True, text=True,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "goemotions" in proc.stdout and "au,blendshape" in proc.stdout
