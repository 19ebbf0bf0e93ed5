"""Workflow directories: a disposable copy of the workflow, for running Snakemake away from the
repository's results/ (tests, benchmarks, real-data validation scripts), stage by stage with the
time and peak memory of each, and the recovery of a directory whose Snakemake run was killed.

`python -m blendtalk.workdir stale-lock [DIR]` exits 0 when DIR (default: here) holds a Snakemake
lock that no running Snakemake process owns (what `kill -9` leaves; `snakemake --unlock` clears
it), 1 otherwise. `scripts/run.sh` uses it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from blendtalk.paths import SOURCE_ROOT

WORKFLOW_FILES = (
    "Snakefile", "rules", "schemas", "workflow_scripts", "envs", "config.yaml", "resources",
)


def make_workdir(path: str | Path, repo: Path = SOURCE_ROOT) -> Path:
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


class StageFailed(RuntimeError):
    """A stage's Snakemake run exited non-zero; the message holds the log's tail."""


def run_stages(workdir: str | Path, stages: dict[str, str], log_path: str | Path,
               args: Sequence[str] = (), cores: int = 2) -> dict[str, dict[str, float]]:
    """Build each stage's target in order with Snakemake in `workdir` (output appended to
    `log_path`; `args` follow the target, e.g. `["--configfile", "overlay.yaml"]`). Per stage:
    the wall seconds and the peak RSS in MB of the largest process the stage ran (`wait4` of the
    Snakemake process: the maximum over its waited-for descendants, i.e. the rule jobs). Raises
    StageFailed naming the stage, with the log's last 40 lines."""
    snakemake = Path(sys.executable).parent / "snakemake"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out: dict[str, dict[str, float]] = {}
    with open(log_path, "a", encoding="utf-8") as log:
        for stage, target in stages.items():
            print(f"[{time.strftime('%H:%M:%S')}] {stage}: {target}", file=sys.stderr)
            log.write(f"\n===== {stage}: {target}\n")
            log.flush()
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(snakemake), target, "--cores", str(cores), *args],
                                    cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out[stage] = {"seconds": round(time.perf_counter() - t0, 1),
                          "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}  # Linux: KiB
            if proc.returncode != 0:
                log.flush()
                tail = "".join(Path(log_path).read_text(encoding="utf-8").splitlines(True)[-40:])
                raise StageFailed(f"stage {stage} failed (snakemake exit {proc.returncode}); log "
                                  f"{log_path}, rule logs under {Path(workdir) / 'logs'}:\n{tail}")
    return out


def _snakemake_processes() -> Iterator[tuple[int, Path]]:
    """(pid, working directory) of the running processes started as `snakemake` or `python -m
    snakemake` (those of other users are not readable and are skipped)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if any(Path(os.fsdecode(arg)).name == "snakemake" for arg in cmdline[:3]):
            yield int(proc.name), cwd


def snakemake_running(directory: str | Path) -> bool:
    """Whether a Snakemake process is running with `directory` as its working directory."""
    directory = Path(directory).resolve()
    return any(cwd == directory for _, cwd in _snakemake_processes())


def has_stale_lock(directory: str | Path = ".") -> bool:
    """Whether `directory` holds Snakemake lock files that no running Snakemake owns."""
    locks = Path(directory) / ".snakemake" / "locks"
    return locks.is_dir() and any(locks.iterdir()) and not snakemake_running(directory)


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "stale-lock" or len(argv) > 2:
        print("usage: python -m blendtalk.workdir stale-lock [DIR]", file=sys.stderr)
        return 2
    return 0 if has_stale_lock(argv[1] if len(argv) > 1 else ".") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
