"""Loading and validating the workflow config outside Snakemake (the CLI, scripts, tests).

Snakemake validates the same file against the same schema in `rules/common.smk`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = REPO_ROOT / "schemas" / "config.schema.yaml"


def load_config(path: str | os.PathLike = REPO_ROOT / "config.yaml") -> dict[str, Any]:
    """Read a config YAML file, validate it and fill in schema defaults.

    Raises snakemake's WorkflowError naming the offending key when the file does not validate.
    """
    from snakemake.utils import validate

    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    validate(config, str(SCHEMA))
    return config
