"""Recovery: a killed run resumes with the README's commands and leaves no temporary files; the
stale lock is recognised; temporary files of killed writes are removed; a failing rule's log
holds its traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blendtalk.io import atomic_dir, atomic_path, stale_temporaries
from blendtalk.workdir import StageFailed, has_stale_lock, main as workdir_main, run_stages
from conftest import make_workdir, readme_command, run_snakemake, snakemake_env

TARGET = "results/rig/reference_head.npz"


def _temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp"))


def _kill_when_writing(workdir: Path, timeout_s: float = 120.0) -> None:
    """Start Snakemake on TARGET and kill -9 its whole process group once a temporary output
    file appears (or, failing that, once the job runs)."""
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", TARGET],
                            cwd=workdir, env=snakemake_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if (workdir / "results").is_dir() and _temporaries(workdir / "results"):
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_killed_run_resumes_with_the_readme_commands(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    _kill_when_writing(workdir)
    assert not (workdir / TARGET).exists(), "the run finished before it was killed"
    assert _temporaries(workdir / "results"), "the kill did not catch a write in progress"
    assert has_stale_lock(workdir)
    # the README's recovery commands, for one target (the whole workflow takes minutes)
    for command in (readme_command("--unlock"), readme_command("--rerun-incomplete") + [TARGET]):
        proc = subprocess.run(command, cwd=workdir, env=snakemake_env(), capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (workdir / TARGET).is_file()
    assert _temporaries(workdir / "results") == []
    assert not has_stale_lock(workdir)
    again = run_snakemake(workdir, "--dry-run", TARGET)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_stale_lock_is_told_from_a_running_snakemake(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    assert not has_stale_lock(tmp_path)
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("results/x\n")
    assert has_stale_lock(tmp_path) and workdir_main(["stale-lock", str(tmp_path)]) == 0
    # a process started as `python -m snakemake` working in that directory owns the lock
    fake = tmp_path / "fake"
    (fake / "snakemake").mkdir(parents=True)
    (fake / "snakemake" / "__main__.py").write_text("import time; time.sleep(30)\n")
    running = subprocess.Popen([sys.executable, "-m", "snakemake"], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(fake)})
    try:
        time.sleep(0.3)
        assert not has_stale_lock(tmp_path)
        assert workdir_main(["stale-lock", str(tmp_path)]) == 1
    finally:
        running.kill()
        running.wait()


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_write_removes_temporaries_of_killed_writes_of_the_same_target(tmp_path):
    target = tmp_path / "out.parquet"
    dead = _dead_pid()
    killed = tmp_path / f".out.parquet.{dead}.k1ll3d_9.tmp"
    killed_dir = tmp_path / f".model.{dead}.abcdefgh.tmp"
    killed_dir.mkdir()
    (killed_dir / "weights").write_text("partial")
    other = tmp_path / f".out.parquet.bak.{dead}.abcdefgh.tmp"  # another target's temporary file
    live = tmp_path / f".out.parquet.{os.getppid()}.abcdefgh.tmp"  # a writer still at work
    for path in (killed, other, live):
        path.write_text("partial")
    assert stale_temporaries(target) == [killed]
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and not killed.exists() and other.exists()
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "weights").write_text("whole")
    assert not killed_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, live.name, "model",
                                                                  "out.parquet"])


FAILING_WORKFLOW = '''
rule fail:
    output: "out.txt"
    log: "logs/fail.log"
    script: "fail.py"
'''
FAILING_SCRIPT = '''
from blendtalk.logs import setup_logging
setup_logging(snakemake.log[0])
import logging
logging.getLogger("fail").info("starting")
def load():
    raise ValueError("no such column: emotion")
load()
'''


def test_failing_rule_writes_its_traceback_into_its_log(tmp_path):
    (tmp_path / "Snakefile").write_text(FAILING_WORKFLOW)
    (tmp_path / "fail.py").write_text(FAILING_SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=tmp_path,
                          env=snakemake_env(), capture_output=True, text=True)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "fail.log").read_text()
    assert "starting" in log
    assert "Traceback (most recent call last)" in log and "in load" in log
    assert "ValueError: no such column: emotion" in log
    assert "no such column: emotion" in proc.stdout + proc.stderr  # still on stderr too


def test_run_stages_measures_each_stage_and_names_the_failing_one(tmp_path):
    workdir = make_workdir(tmp_path / "wd")
    stages = run_stages(workdir, {"rig": TARGET}, tmp_path / "stages.log")
    assert (workdir / TARGET).is_file() and set(stages) == {"rig"}
    # the job's own peak (a Python process with numpy), not the parent's or zero
    assert stages["rig"]["seconds"] > 0 and 30 < stages["rig"]["peak_rss_mb"] < 4000
    with pytest.raises(StageFailed, match=r"(?s)stage nothing failed .*MissingRuleException"):
        run_stages(workdir, {"nothing": "results/no/such/file"}, tmp_path / "stages.log")
