# Config validation and helpers shared by every stage. Each stage file appends the files that
# `rule all` builds to ALL_TARGETS.
import json
from pathlib import Path

from blendtalk.config import canonical, validate_config, workflow_layers
from blendtalk.paths import in_cache

# The layers (config files, --config) are checked for settings that must be given together.
validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml",
                layers=workflow_layers(workflow.configfiles, workflow.config_settings.config))

RESULTS = Path("results")
LOGS = Path("logs")
ALL_TARGETS: list[str] = []


def result(*parts: str) -> str:
    """Path of an artifact under results/."""
    return str(RESULTS.joinpath(*parts))


def log_for(*parts: str) -> str:
    """Path of a rule's log file under logs/."""
    return str(LOGS.joinpath(*parts))


def parquet_rows(path: str) -> int:
    """Rows of a Parquet table from its footer (for resource callables); 0 when it cannot be read
    yet (a dry run before the table exists)."""
    try:
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    except Exception:
        return 0


def annotate_gpus() -> int:
    """GPUs per annotation shard job (annotate.gpus_per_shard; by default only vllm asks)."""
    cfg = config["annotate"]
    if cfg["gpus_per_shard"] is not None:
        return cfg["gpus_per_shard"]
    return (cfg["tensor_parallel_size"] or 1) if cfg["backend"] == "vllm" else 0


def rig_file(spec: str) -> str:
    """The rig file built from a rig setting ("reference" or an external rig's path, as in
    render.rig): the reference head, or the rig imported by rule render_import_rig."""
    if spec == "reference":
        return result("rig", "reference_head.npz")
    return result("rig", f"{Path(spec).stem}.npz")


def render_rig() -> str:
    """The rig file the render rules read (render.rig)."""
    return rig_file(config["render"]["rig"])


def rig_specs() -> list[str]:
    """Every rig setting the config names: render.rig, then facereader.rigs."""
    return [config["render"]["rig"], *config["facereader"]["rigs"]]


def external_rigs() -> dict[str, str]:
    """Name → source path of every external rig the config names."""
    return {Path(spec).stem: spec for spec in rig_specs() if spec != "reference"}


def sampled_expression_videos(wildcards) -> list[str]:
    """The videos of the sampled expressions (known once render_sample has run)."""
    with open(checkpoints.render_sample.get().output[0], encoding="utf-8") as fh:
        sample = json.load(fh)
    return [result("videos", "expressions", f"{item['text_id']}.mp4") for item in sample["items"]]


def planned(*parts: str, videos_only: bool = False, count: int | None = None) -> list[str]:
    """Paths `results/<parts>` with {utt_id} filled for every planned utterance (known once
    the speech_plan checkpoint has run); `videos_only`: the first `count` (default
    speech.videos) of the video sample only."""
    import pandas as pd

    from blendtalk.speech.plan import video_sample

    plan = pd.read_parquet(checkpoints.speech_plan.get().output[0], columns=["utt_id", "split"])
    count = config["speech"]["videos"] if count is None else count
    ids = (video_sample(plan, count, config["seed"]) if videos_only
           else plan["utt_id"].tolist())
    return expand(result(*parts), utt_id=ids)

