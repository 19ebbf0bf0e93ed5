"""Config validation shared by the workflow (`rules/common.smk`) and the CLI.

Both go through `snakemake.utils.validate` against `schemas/config.schema.yaml` (which fills in
defaults); failures are re-raised with the dotted path of the offending key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = REPO_ROOT / "schemas" / "config.schema.yaml"


def validate_config(config: dict[str, Any], schema: str | os.PathLike = SCHEMA) -> dict[str, Any]:
    """Validate `config` in place (filling schema defaults) and return it.

    Raises snakemake's WorkflowError whose message names the offending key, e.g.
    "config key 'corpora.foo' is not a known setting (known: ...)".
    """
    schema = Path(schema)
    _validate(config, schema, prefix="")
    # jsonschema switches back to the plain validator inside a `$ref`'d file that declares its own
    # `$schema`, so defaults there are not filled: validate each stage section on its own file too.
    with open(schema, encoding="utf-8") as fh:
        properties = yaml.safe_load(fh).get("properties", {})
    for section, sub in properties.items():
        if "$ref" in sub and isinstance(config.get(section), dict):
            _validate(config[section], schema.parent / sub["$ref"], prefix=section)
    return config


def _validate(data: dict[str, Any], schema: Path, prefix: str) -> None:
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(data, str(schema))
    except WorkflowError as err:
        cause = err.__cause__ or err.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        raise WorkflowError(describe_error(cause, prefix)) from None


def describe_error(error: Any, prefix: str = "") -> str:
    """One line naming the config key a jsonschema ValidationError is about (`prefix` is the
    dotted path of the section that was validated)."""
    where = ".".join([prefix] * bool(prefix) + [str(p) for p in error.absolute_path])
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        keys = ", ".join(f"'{where + '.' if where else ''}{k}'" for k in extra)
        return f"config key {keys} is not a known setting (known here: {', '.join(known)})"
    return f"config key '{where or '<top level>'}': {error.message}"


def load_config(path: str | os.PathLike = REPO_ROOT / "config.yaml", missing_ok: bool = False
                ) -> dict[str, Any]:
    """Read a config YAML file, validate it and fill in schema defaults.

    With `missing_ok`, a file that does not exist gives the schema defaults (the CLI run outside
    a workflow directory).
    """
    if missing_ok and not Path(path).exists():
        return validate_config({})
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a config file must be a mapping of keys to settings")
    return validate_config(config)
