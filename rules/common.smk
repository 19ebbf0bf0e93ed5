# Config validation and helpers shared by every stage. Each stage file appends the files that
# `rule all` builds to ALL_TARGETS.
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
