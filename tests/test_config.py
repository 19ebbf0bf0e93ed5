"""The config schema: defaults filled, unknown or mistyped keys rejected with the key named."""

import pytest
import yaml
from snakemake.exceptions import WorkflowError

from blendtalk.config import REPO_ROOT, load_config, validate_config
from conftest import make_workdir, run_snakemake


def test_embedded_default_validates_and_fills_every_section():
    config = load_config(REPO_ROOT / "config.yaml")
    assert config["seed"] == 0
    assert {"corpora", "annotate", "blendshapes", "text2expr", "render"} <= set(config)


def test_empty_config_gets_schema_defaults():
    config = validate_config({})
    assert config["seed"] == 0
    # defaults inside each stage's own schema file are filled too, not only the top level
    for section in ("corpora", "annotate", "blendshapes", "text2expr", "render"):
        assert config[section], f"no defaults filled in section {section}"


@pytest.mark.parametrize("config, named", [
    ({"bogus": 1}, "'bogus'"),
    ({"corpora": {"no_such_key": 1}}, "'corpora.no_such_key'"),
    ({"seed": "abc"}, "'seed'"),
])
def test_bad_keys_are_named(config, named):
    with pytest.raises(WorkflowError, match="config key") as err:
        validate_config(config)
    assert named in str(err.value)


def test_snakemake_rejects_a_wrong_key_naming_it(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["annotate"]["not_a_setting"] = True
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "'annotate.not_a_setting' is not a known setting" in proc.stdout + proc.stderr
