"""The config: defaults filled; unknown, mistyped or disagreeing settings and YAML syntax errors
rejected naming the key, or the file and line."""

import re
import subprocess

import pytest
import yaml
from snakemake.exceptions import WorkflowError

from blendtalk.config import (REPO_ROOT, ConfigSyntaxError, configfiles_in, load_config,
                              validate_config)
from blendtalk.config import main as config_main
from conftest import make_workdir, readme_command, run_snakemake, snakemake_env


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


def _sources(**enabled: bool) -> dict:
    return {name: {"format": "isear", "files": ["x.csv"], "enabled": on}
            for name, on in enabled.items()}


@pytest.mark.parametrize("config, named", [
    ({"corpora": {"splits": {"train": 0.8, "val": 0.1, "test": 0.2}}},
     "'corpora.splits': train + val + test must sum to 1, got 1.1"),
    ({"corpora": {"clean": {"min_words": 10, "max_words": 5}}},
     "'corpora.clean.min_words': 10 is more than corpora.clean.max_words (5)"),
    ({"seed": -1}, "'seed'"),
    ({"corpora": {"sources": {"isear": {"format": "isear", "files": ["x"], "encoding": "utf-9"}}}},
     "'corpora.sources.isear.encoding': unknown text encoding 'utf-9'"),
    ({"corpora": {"sources": _sources(a=False, b=False)}}, "'corpora.sources': no source is enabled"),
    ({"corpora": {"sources": {"a": {"format": "isear", "files": ["x"], "download": [
        {"url": "https://example.org/x", "path": ".cache/corpora/../../../escape.csv"}]}}}},
     "'corpora.sources.a.download.0.path'"),
])
def test_settings_that_disagree_are_named(config, named):
    with pytest.raises(WorkflowError, match="config key") as err:
        validate_config(config)
    assert named in str(err.value)


def test_known_encoding_and_one_enabled_source_pass():
    config = {"corpora": {"sources": {**_sources(a=False), "b": {
        "format": "isear", "files": ["x"], "encoding": "latin-1"}}}}
    assert validate_config(config)["corpora"]["sources"]["b"]["encoding"] == "latin-1"


def test_a_file_setting_only_some_splits_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("corpora:\n  splits: {train: 0.7, val: 0.2}\n")  # test would default to 0.1
    with pytest.raises(WorkflowError, match=r"'corpora\.splits' in .*c\.yaml: test not set; "
                                            r"train, val and test must be set together"):
        load_config(path)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("corpora:\n  clean:\n    min_words: 3\n   max_words: 9\n")
    with pytest.raises(ConfigSyntaxError, match=r"broken\.yaml, line 4, column 4"):
        load_config(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigSyntaxError, match=r"broken\.yaml: a config file must be a mapping"):
        load_config(path)


def test_missing_explicit_file_is_an_error_the_implicit_default_is_not(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_config()["seed"] == 0  # no config.yaml here: the schema defaults
    (tmp_path / "config.yaml").write_text("seed: 7\n")
    assert load_config()["seed"] == 7


def test_snakemake_names_file_and_line_of_a_broken_config(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    text = (workdir / "config.yaml").read_text()
    (workdir / "config.yaml").write_text(text.replace("seed: 0\n", "seed: [0\n", 1))
    proc = run_snakemake(workdir, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "config.yaml, line" in proc.stdout + proc.stderr


def test_broken_overlay_is_named_by_the_config_check(tmp_path, capsys):
    overlay = tmp_path / "my.yaml"
    overlay.write_text("corpora:\n  clean: {min_words: 3\n")
    args = ["--cores", "2", "results/corpora/qc.json", f"--configfile={overlay}"]
    assert configfiles_in(args) == [str(overlay)]
    assert configfiles_in(["--configfile", "a.yaml", "b.yaml", "-n", "t"]) == ["a.yaml", "b.yaml"]
    assert config_main(args) == 2
    assert f"{overlay}, line 3" in capsys.readouterr().err
    overlay.write_text("seed: 1\n")
    assert config_main(args) == 0


def test_snakemake_refuses_an_overlay_setting_some_splits(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    (workdir / "my.yaml").write_text("corpora:\n  splits: {train: 0.7, val: 0.2}\n")
    proc = run_snakemake(workdir, "--dry-run", "--configfile=my.yaml", check=False)
    assert proc.returncode != 0
    assert re.search(r"'corpora\.splits' in \S*my\.yaml: test not set", proc.stdout + proc.stderr)


def test_readme_configfile_line_builds_the_target_with_the_overlay(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    (workdir / "my.yaml").write_text("corpora:\n  cap: {per_source: 5}\n")
    command = readme_command("--configfile=my.yaml")
    proc = subprocess.run([*command, "--dry-run"], cwd=workdir, env=snakemake_env(),
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "corpora_corpus" in out and "annotate_shard" not in out  # only qc.json's jobs
    assert "my.yaml" in out


def test_text_from_nested_config_overrides_becomes_the_schema_type():
    """`--config render='{samples_per_emotion: 2}'` reaches the config as text ('2')."""
    from blendtalk.config import validate_config

    config = validate_config({"seed": "3", "render": {"samples_per_emotion": "2", "caption": "false",
                                                       "duration_s": "2.5", "rig": "123"}})
    assert config["seed"] == 3
    assert config["render"]["samples_per_emotion"] == 2
    assert config["render"]["caption"] is False
    assert config["render"]["duration_s"] == 2.5
    assert config["render"]["rig"] == "123"  # a string setting stays text
    with pytest.raises(Exception, match="render.samples_per_emotion"):
        validate_config({"render": {"samples_per_emotion": "two"}})


def test_canonical_params_sort_every_mapping_and_drop_dotted_keys():
    from blendtalk.config import canonical

    overlay_first = {"train": {"threads": 2, "lr": 0.1}, "encoder": {"kind": "minilm", "device": "cpu"},
                     "views": ["sentence", "emotions"]}
    base_first = {"encoder": {"device": "cuda", "kind": "minilm"}, "views": ["sentence", "emotions"],
                  "train": {"lr": 0.1, "threads": 1}}
    drop = ("encoder.device", "train.threads")
    assert repr(canonical(overlay_first, drop)) == repr(canonical(base_first, drop)) == \
        "{'encoder': {'kind': 'minilm'}, 'train': {'lr': 0.1}, 'views': ['sentence', 'emotions']}"
