"""A disposable copy of the workflow, for running Snakemake away from the repository's results/
(tests, benchmarks, real-data validation scripts)."""

from __future__ import annotations

import shutil
from pathlib import Path

from blendtalk.config import REPO_ROOT

WORKFLOW_FILES = (
    "Snakefile", "rules", "schemas", "workflow_scripts", "envs", "config.yaml", "resources",
)


def make_workdir(path: str | Path, repo: Path = REPO_ROOT) -> Path:
    """Copy the workflow files of `repo` into `path` (resources/ symlinked, as it is read-only
    input) and return `path`; run `snakemake` with `cwd=path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = repo / name
        if name == "resources":
            (path / name).symlink_to(src)
        elif src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, path / name)
    return path
