"""Shared fixtures: marker handling and running the workflow in a temporary directory."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
# torch's optimisers import torch._dynamo, which loads triton (a dependency of xgrammar) and
# its bundled LLVM. Loaded after Mesa's llvmpipe (the EGL renderer tests), that segfaults, so
# load it first, before any test renders.
import torch._dynamo  # noqa: E402,F401

from blendtalk.workdir import make_workdir  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_collection_modifyitems(config, items):
    has_shared = (SHARED / "data").is_dir() or (SHARED / "rigs").is_dir()
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    try:
        import vllm  # noqa: F401
        has_vllm = True
    except ImportError:
        has_vllm = False
    reasons = {
        "needs_shared": None if has_shared else f"{SHARED} is absent (real corpora/rigs are optional)",
        "gpu": None if has_cuda else "no CUDA device",
        "vllm": None if has_vllm else "vllm is not installed (optional extra: scripts/test-vllm.sh)",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake in `workdir` with the test interpreter's environment; returns the process."""
    cmd = [sys.executable, "-m", "snakemake", "--quiet", "rules", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, env=snakemake_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def snakemake_env() -> dict[str, str]:
    """The environment the workflow tests run Snakemake in (offline)."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def readme_command(containing: str) -> list[str]:
    """The first `.venv/bin/snakemake` line of the README that contains `containing`, as the
    argument list this interpreter runs it with (`python -m snakemake`)."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(".venv/bin/snakemake ") and containing in line:
            return [sys.executable, "-m", "snakemake", *shlex.split(line.split("#")[0])[1:]]
    raise AssertionError(f"README.md has no snakemake line containing {containing!r}")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """The whole default workflow, run once per test session; stage tests inspect its outputs."""
    workdir = make_workdir(tmp_path_factory.mktemp("default_run") / "wf")
    run_snakemake(workdir)
    return workdir
