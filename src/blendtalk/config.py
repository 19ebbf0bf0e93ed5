"""Config reading and validation shared by the workflow (`rules/common.smk`) and the CLI.

Both go through `snakemake.utils.validate` against `schemas/config.schema.yaml` (which fills in
defaults); failures are re-raised with the dotted path of the offending key. Checks a schema
cannot express follow (split ratios, word bounds, encodings, enabled sources, paths to write).

`python -m blendtalk.config [snakemake arguments]` checks the YAML syntax of the config files
named by `--configfile`/`--configfiles` (Snakemake's own message names neither file nor line).
"""

from __future__ import annotations

import codecs
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from blendtalk import paths

#: The source checkout (editable install). Library code should use `paths.resource` instead.
REPO_ROOT = paths.SOURCE_ROOT
SCHEMA = paths.packaged("schemas") / "config.schema.yaml"
SPLITS = ("train", "val", "test")

Layer = tuple[str, Mapping[str, Any]]  # (where it came from, the raw settings it gives)


class ConfigSyntaxError(ValueError):
    """A config file that is not valid YAML, or not a mapping; the message names file and line."""


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Parse the config file `path` into a mapping (empty file: {}).

    Raises FileNotFoundError naming the file, ConfigSyntaxError naming file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigSyntaxError(f"{path}{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigSyntaxError(f"{path}: a config file must be a mapping of keys to settings")
    return data


def load_config(path: str | os.PathLike | None = None, missing_ok: bool = False) -> dict[str, Any]:
    """Read a config YAML file, validate it and fill in schema defaults.

    `path=None` is the implicit default: the project's `config.yaml`, or the schema defaults
    when there is none. An explicit `path` that does not exist raises FileNotFoundError naming
    it, unless `missing_ok` (then the schema defaults).
    """
    if path is None:
        path, missing_ok = paths.project_root() / "config.yaml", True
    if missing_ok and not Path(path).exists():
        return validate_config({})
    config = read_yaml(path)
    return validate_config(config, layers=[(str(path), config)])


def workflow_layers(configfiles: Iterable[str | os.PathLike], overrides: Mapping[str, Any]
                    ) -> list[Layer]:
    """The raw settings Snakemake merged into its `config`: each config file, then `--config`."""
    layers: list[Layer] = [(str(f), read_yaml(f)) for f in configfiles]
    if overrides:
        layers.append(("--config", overrides))
    return layers


def validate_config(config: dict[str, Any], schema: str | os.PathLike = SCHEMA,
                    layers: Sequence[Layer] = ()) -> dict[str, Any]:
    """Validate `config` in place (filling schema defaults) and return it.

    `layers` are the raw files/overrides `config` was merged from, checked for settings that must
    be given together in one place. Raises snakemake's WorkflowError whose message names the
    offending key, e.g. "config key 'corpora.foo' is not a known setting (known: ...)".
    """
    from snakemake.exceptions import WorkflowError

    schema = Path(schema)
    problems = list(_splits_given_together(layers))  # before defaults fill a layer in place
    coerce_text_values(config, schema)
    _validate(config, schema, prefix="")
    # jsonschema switches back to the plain validator inside a `$ref`'d file that declares its own
    # `$schema`, so defaults there are not filled: validate each stage section on its own file too.
    with open(schema, encoding="utf-8") as fh:
        properties = yaml.safe_load(fh).get("properties", {})
    for section, sub in properties.items():
        if "$ref" in sub and isinstance(config.get(section), dict):
            _validate(config[section], schema.parent / sub["$ref"], prefix=section)
    problems += _checks(config)
    if problems:
        raise WorkflowError("\n".join(problems))
    return config


def canonical(value: Any, drop: Iterable[str] = ()) -> Any:
    """`value` with the keys of every mapping sorted, less the dotted keys in `drop`: the form
    of a rule's params. Snakemake compares params as text, and the key order of a merged config
    depends on how its files were merged (an overlay's keys come first). Lists keep their order.
    """
    drop = set(drop)

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, Mapping):
            return {k: walk(v, f"{where}{k}.") for k, v in sorted(node.items())
                    if f"{where}{k}" not in drop}
        if isinstance(node, list):
            return [walk(v, where) for v in node]
        return node

    return walk(value, "")


_SCALARS = {"integer": int, "number": (int, float), "boolean": bool}


def coerce_text_values(config: dict[str, Any], schema: str | os.PathLike) -> None:
    """Turn text into the number or boolean the schema asks for, in place.

    Snakemake reads the values nested in `--config stage='{key: 2}'` as text ('2'); a string
    where the schema wants an integer, a number or a boolean is parsed as YAML and kept when it
    gives that type (anything else is left for validation to name).
    """
    def walk(node: Any, sub: Mapping[str, Any], base: Path, doc: Mapping[str, Any]) -> None:
        while "$ref" in sub:
            file, _, pointer = sub["$ref"].partition("#")
            if file:
                base = base.parent / file
                with open(base, encoding="utf-8") as fh:
                    doc = yaml.safe_load(fh)
            sub = doc
            for part in filter(None, pointer.split("/")):
                sub = sub[part]
        if not isinstance(node, dict):
            return
        props = sub.get("properties", {})
        extra = sub.get("additionalProperties")
        for key, value in node.items():
            child = props.get(key, extra if isinstance(extra, dict) else None)
            if not child:
                continue
            wanted = child.get("type")
            wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
            types = tuple(_SCALARS[t] for t in wanted if t in _SCALARS)
            if isinstance(value, str) and types and "string" not in wanted:
                try:
                    parsed = yaml.safe_load(value)
                except yaml.YAMLError:
                    continue
                if isinstance(parsed, types) and (bool in types or not isinstance(parsed, bool)):
                    node[key] = parsed
            else:
                walk(value, child, base, doc)

    with open(schema, encoding="utf-8") as fh:
        root = yaml.safe_load(fh)
    walk(config, root, Path(schema), root)


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


# ------------------------------------------------------------------ checks beyond the schema

def _splits_given_together(layers: Sequence[Layer]) -> Iterator[str]:
    """A layer that sets some split ratios but not all would silently inherit the others."""
    for source, raw in layers:
        splits = (raw.get("corpora") or {}).get("splits") if isinstance(raw, Mapping) else None
        if isinstance(splits, Mapping) and splits and set(SPLITS) - set(splits):
            missing = ", ".join(s for s in SPLITS if s not in splits)
            yield (f"config key 'corpora.splits' in {source}: {missing} not set; train, val and "
                   f"test must be set together (an omitted ratio is not taken from another file)")


def _checks(config: dict[str, Any]) -> Iterator[str]:
    corpora = config.get("corpora") or {}
    if corpora:
        yield from _splits_sum_to_one(corpora["splits"])
        yield from _word_bounds(corpora["clean"])
        yield from _some_source_enabled(corpora["sources"])
        yield from _download_paths(corpora["sources"])
    yield from _encodings(config, "")


def _splits_sum_to_one(splits: Mapping[str, float]) -> Iterator[str]:
    total = sum(splits[s] for s in SPLITS)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        yield (f"config key 'corpora.splits': train + val + test must sum to 1, got {total:g} "
               f"({', '.join(f'{s}={splits[s]:g}' for s in SPLITS)})")


def _word_bounds(clean: Mapping[str, Any]) -> Iterator[str]:
    if clean["min_words"] > clean["max_words"]:
        yield (f"config key 'corpora.clean.min_words': {clean['min_words']} is more than "
               f"corpora.clean.max_words ({clean['max_words']})")


def _some_source_enabled(sources: Mapping[str, Any]) -> Iterator[str]:
    if not any(spec.get("enabled", True) for spec in sources.values()):
        yield "config key 'corpora.sources': no source is enabled (set enabled: true on one)"


def _download_paths(sources: Mapping[str, Any]) -> Iterator[str]:
    """Downloads are written under <cache root>/corpora/ only (rule corpora_download)."""
    within = [paths.cache_root() / "corpora"]
    for name, spec in sources.items():
        for i, item in enumerate(spec.get("download", [])):
            try:
                paths.ensure_inside(item["path"], f"corpora.sources.{name}.download.{i}.path",
                                    within)
            except paths.PathEscapeError as err:
                yield str(err)


def _encodings(node: Any, where: str) -> Iterator[str]:
    """Every `encoding` key anywhere in the config must name a codec Python knows."""
    items = node.items() if isinstance(node, Mapping) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        dotted = f"{where}.{key}" if where else str(key)
        if key == "encoding" and isinstance(value, str):
            try:
                codecs.lookup(value)
            except LookupError:
                yield f"config key '{dotted}': unknown text encoding {value!r}"
        else:
            yield from _encodings(value, dotted)


# ------------------------------------------------------------------ command line

def configfiles_in(argv: Sequence[str]) -> list[str]:
    """The files given to `--configfile`/`--configfiles` in Snakemake arguments `argv`."""
    files: list[str] = []
    taking = False
    for arg in argv:
        option, eq, value = arg.partition("=")
        if option in ("--configfile", "--configfiles"):
            taking = not eq
            files += [value] if eq else []
        elif arg.startswith("-"):
            taking = False
        elif taking:
            files.append(arg)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """Check the YAML syntax of the config files named in Snakemake arguments `argv`."""
    for path in configfiles_in(sys.argv[1:] if argv is None else argv):
        try:
            read_yaml(path)
        except (OSError, ConfigSyntaxError) as err:
            print(f"config: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
