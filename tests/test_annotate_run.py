"""The annotate stage's driver: lazy backends, progress, the CLI on the shared retry loop, settings."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from blendtalk.annotate import models
from blendtalk.annotate.backends import Identity, Row, backend_identity, make_backend
from blendtalk.annotate.run import LazyBackend, annotate_rows, annotate_shard
from blendtalk.annotate.settings import OUTPUT_KEYS, output_settings
from blendtalk.cli import main
from blendtalk.ids import text_id

from test_annotate_rules import FlakyBackend, make_corpus


class CountingFactory:
    """`make_backend`, counting the backends it builds."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self, cfg):
        self.built += 1
        return make_backend(cfg)


def test_backend_built_only_for_rows_missing_from_cache(tmp_path):
    make_corpus(tmp_path / "corpus.parquet", 12)
    cfg = {"backend": "rules", "shards": 1, "batch_size": 5}
    factory = CountingFactory()
    run = lambda out: annotate_shard(tmp_path / "corpus.parquet", "000", cfg, tmp_path / out,  # noqa: E731
                                     tmp_path / "cache", factory=factory)
    first = run("a.parquet")
    assert factory.built == 1 and not first["cached"].any()
    again = run("b.parquet")
    assert factory.built == 1 and again["cached"].all()  # every row cached: nothing built
    make_corpus(tmp_path / "corpus.parquet", 13)  # one new row
    third = run("c.parquet")
    assert factory.built == 2 and int((~third["cached"]).sum()) == 1
    assert again["description"].tolist() == first["description"].tolist()


def test_lazy_backend_checks_the_identity_it_promised():
    lazy = LazyBackend({"backend": "rules"}, factory=lambda cfg: FlakyBackend())
    assert (lazy.name, lazy.model) == ("rules", "blendtalk-rules-v1")
    with pytest.raises(RuntimeError, match="wrong keys"):
        lazy.annotate([Row("a" * 16, "Hi.")], 0)


def test_identity_matches_the_built_backend_and_loads_nothing():
    backend = make_backend({"backend": "rules"})
    assert backend_identity({"backend": "rules"}) == Identity(backend.name, backend.model,
                                                              backend.fingerprint)
    code = ("import sys; from blendtalk.annotate.backends import backend_identity; "
            "i = backend_identity({'backend': 'vllm', 'model': 'org/70B'}); "
            "print(i.name, i.model, 'torch' in sys.modules, 'vllm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["vllm", "org/70B", "False", "False"]
    with pytest.raises(ValueError, match="unknown backend 'gpt'"):
        backend_identity({"backend": "gpt"})


def test_llm_fingerprint_follows_what_shapes_answers(tmp_path):
    base = {"backend": "transformers", "model": "m", "dtype": "auto", "gguf_file": None}
    template = tmp_path / "t.jinja"
    template.write_text("{{ messages }}")
    prints = {models.fingerprint(cfg) for cfg in (
        base, base | {"dtype": "float32"}, base | {"gguf_file": "q4.gguf"},
        base | {"chat_template": str(template)})}
    assert len(prints) == 4
    template.write_text("{{ messages | tojson }}")
    assert models.fingerprint(base | {"chat_template": str(template)}) not in prints
    assert models.fingerprint(base | {"batch_size": 1, "engine_args": {"enforce_eager": True}}) \
        == models.fingerprint(base)
    with pytest.raises(FileNotFoundError, match="annotate.chat_template"):
        models.fingerprint(base | {"chat_template": str(tmp_path / "missing.jinja")})


def test_progress_logged_with_done_total_rate(tmp_path, caplog):
    rows = [Row(text_id(f"t{i}"), f"I am so happy {i}!", ("joy",)) for i in range(7)]
    with caplog.at_level(logging.INFO, logger="blendtalk.annotate.run"):
        annotate_rows(rows, make_backend({"backend": "rules"}), {"batch_size": 3}, desc="annotate shard 007")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("annotate shard 007")]
    assert lines and lines[-1].startswith("annotate shard 007: 7/7 (100%), ")
    assert "rows/s" in lines[-1] and lines[-1].endswith("0 from cache")


def test_cli_uses_the_stage_retry_loop(monkeypatch, capsys):
    import blendtalk.annotate.backends as backends
    import blendtalk.annotate.run as run

    flaky = FlakyBackend()
    calls = []
    monkeypatch.setattr(backends, "make_backend", lambda cfg: flaky)
    monkeypatch.setattr(run, "annotate_rows",
                        lambda *a, **k: calls.append(a) or annotate_rows(*a, **k))
    assert main(["annotate", "We won the cup!", "--emotion", "joy", "--intensity", "0.9"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(calls) == 1 and flaky.seeds == [0, 1]  # invalid at seed 0, retried with seed 1
    assert out["attempts"] == 2 and out["status"] == "ok" and "raw" not in out


def test_cli_invalid_answer_exits_1_with_raw(monkeypatch, capsys):
    import blendtalk.annotate.backends as backends

    monkeypatch.setattr(backends, "make_backend", lambda cfg: FlakyBackend(fail_always=True))
    assert main(["annotate", "Hello there."]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "invalid" and out["attempts"] == 3 and out["raw"].startswith('{"emotions"')


@pytest.mark.parametrize("args, message", [
    (["--intensity", "1.5"], "argument --intensity: must be a number from 0 to 1, got '1.5'"),
    (["--intensity", "-0.1"], "must be a number from 0 to 1, got '-0.1'"),
    (["--intensity", "nan"], "must be a number from 0 to 1, got 'nan'"),
    (["--intensity", "high"], "must be a number from 0 to 1, got 'high'"),
])
def test_cli_refuses_bad_intensity(args, message, capsys):
    assert main(["annotate", "Hello.", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_refuses_empty_sentence(capsys):
    assert main(["annotate", "   "]) == 2
    assert "the sentence is empty" in capsys.readouterr().err


def test_cli_intensity_bounds_accepted(capsys):
    for value in ("0", "1"):
        assert main(["annotate", "I am furious.", "--emotion", "anger", "--intensity", value]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "ok"


def test_output_settings_leave_out_resources_and_speed():
    cfg = {"backend": "vllm", "model": "m", "gpus_per_shard": 4, "batch_size": 8,
           "tensor_parallel_size": 4, "prefix_cache": False, "engine_args": {"enforce_eager": True},
           "max_model_len": 4096, "gpu_memory_utilization": 0.8, "max_retries": 5,
           "sampling": {"seed": 1}, "hints": False, "shards": 3, "limit": None, "dtype": "auto",
           "gguf_file": None, "chat_template": None}
    assert output_settings(cfg) == {k: cfg[k] for k in OUTPUT_KEYS}
    assert set(cfg) - set(OUTPUT_KEYS) == {"gpus_per_shard", "batch_size", "tensor_parallel_size",
                                           "prefix_cache", "engine_args", "max_model_len",
                                           "gpu_memory_utilization", "max_retries"}

