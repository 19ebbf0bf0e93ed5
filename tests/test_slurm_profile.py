"""profiles/slurm sizes jobs without overriding the rules that size themselves: a rule's own
mem_mb/runtime (callables of its input) are the same with the profile as without it, and CPUs
follow threads (no cpus_per_task). scripts/slurm-local.sh runs the profile on a real cluster."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, snakemake_env

PROFILE = REPO / "profiles" / "slurm"
#: Rules whose resources are callables of their input, and a file each one builds.
SELF_SIZED = {
    "corpora_corpus": "results/corpora/corpus.parquet",
    "annotate_shard": "results/annotations/shards/000.parquet",
    "text2expr_train": "results/metrics/text2expr.json",
}


def _dry_run_resources(workdir, rule: str, target: str, profile: str) -> dict[str, str]:
    """The resources Snakemake gives `rule`'s job in a dry run forcing it, under `profile`."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", target, "--forcerun", rule,
         "--workflow-profile", profile],
        cwd=workdir, env=snakemake_env(), capture_output=True, text=True, check=True)
    block = re.search(rf"^rule {rule}:\n((?: +\w+: .*\n)+)", proc.stdout, re.M)
    assert block, proc.stdout[-3000:]
    line = re.search(r"^ +resources: (.*)$", block.group(1), re.M).group(1)
    return dict(item.split("=", 1) for item in line.split(", "))


def test_profile_sets_no_cpus_and_no_size_of_self_sized_rules():
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text(encoding="utf-8"))
    assert "cpus_per_task" not in profile["default-resources"]
    for rule, resources in profile["set-resources"].items():
        assert "cpus_per_task" not in resources, rule
    for rule in SELF_SIZED:
        assert not {"mem_mb", "runtime"} & set(profile["set-resources"].get(rule, {})), rule


@pytest.mark.slow
@pytest.mark.parametrize("rule", sorted(SELF_SIZED))
def test_rules_own_sizes_survive_the_profile(default_run, rule):
    own = _dry_run_resources(default_run, rule, SELF_SIZED[rule], "none")
    profiled = _dry_run_resources(default_run, rule, SELF_SIZED[rule], str(PROFILE))
    for key in ("mem_mb", "runtime"):
        if key in own:
            assert profiled[key] == own[key], (rule, key)
    assert "cpus_per_task" not in profiled
