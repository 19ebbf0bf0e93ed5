# Config validation and helpers shared by every stage. Each stage file appends the files that
# `rule all` builds to ALL_TARGETS.
import json
from pathlib import Path

from blendtalk.config import validate_config

validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")

RESULTS = Path("results")
LOGS = Path("logs")
ALL_TARGETS: list[str] = []


def result(*parts: str) -> str:
    """Path of an artifact under results/."""
    return str(RESULTS.joinpath(*parts))


def log_for(*parts: str) -> str:
    """Path of a rule's log file under logs/."""
    return str(LOGS.joinpath(*parts))


def annotate_gpus() -> int:
    """GPUs per annotation shard job (annotate.gpus_per_shard; by default only vllm asks)."""
    cfg = config["annotate"]
    if cfg["gpus_per_shard"] is not None:
        return cfg["gpus_per_shard"]
    return (cfg["tensor_parallel_size"] or 1) if cfg["backend"] == "vllm" else 0


def render_rig() -> str:
    """The rig file the render rules read: the built reference head, or the configured external
    rig imported by rule render_import_rig."""
    if config["render"]["rig"] == "reference":
        return result("rig", "reference_head.npz")
    return result("rig", f"{Path(config['render']['rig']).stem}.npz")


def sampled_expression_videos(wildcards) -> list[str]:
    """The videos of the sampled expressions (known once render_sample has run)."""
    with open(checkpoints.render_sample.get().output[0], encoding="utf-8") as fh:
        sample = json.load(fh)
    return [result("videos", "expressions", f"{item['text_id']}.mp4") for item in sample["items"]]
