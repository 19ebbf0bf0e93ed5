"""The annotate rules re-run exactly when a setting that changes their outputs changes."""

from __future__ import annotations

import pytest

from blendtalk.annotate.shards import shard_names

from conftest import make_workdir, run_snakemake

TARGET = "results/annotations/descriptions.parquet"


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """A workflow copy with the annotations built from the bundled corpora."""
    workdir = make_workdir(tmp_path_factory.mktemp("annotate_params") / "wf")
    run_snakemake(workdir, TARGET)
    return workdir


def dry_run(workdir, config: str) -> str:
    """The output of `snakemake -n TARGET --config annotate=<config>`."""
    proc = run_snakemake(workdir, "-n", TARGET, "--config", f"annotate={config}")
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("config", [
    "{gpus_per_shard: 2}", "{batch_size: 3}", "{max_retries: 5}", "{prefix_cache: false}",
    "{tensor_parallel_size: 2, max_model_len: 1024, gpu_memory_utilization: 0.5}",
    "{engine_args: {enforce_eager: true}}",
])
def test_resource_and_speed_settings_rerun_nothing(annotated, config):
    assert "Nothing to be done" in dry_run(annotated, config)


@pytest.mark.parametrize("config", ["{sampling: {seed: 3}}", "{hints: false}", "{limit: 20}"])
def test_output_settings_rerun_the_shards(annotated, config):
    out = dry_run(annotated, config)
    assert "params have changed" in out and "annotate_shard" in out


def test_shard_files_are_named_by_shard_names(annotated):
    built = sorted(p.stem for p in (annotated / "results/annotations/shards").glob("*.parquet"))
    assert built == shard_names(2)
