"""The `transformers` backend: a local model directory, hub id or GGUF file, batched generation
with left padding, decoding constrained by xgrammar to the answer JSON schema.

Conversations are formatted by the tokenizer's chat template (`models.chat_template`); a GGUF is
converted once to a cached safetensors directory (`models.safetensors_dir`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
import xgrammar as xgr
from xgrammar.contrib.hf import LogitsProcessor as GrammarLogitsProcessor

from blendtalk.annotate import models
from blendtalk.annotate.backends.base import Answer, Row
from blendtalk.annotate.prompt import build_messages, json_schema


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """`annotate.dtype` as a torch dtype; "auto" is bfloat16 wherever the device computes it
    natively (CUDA with bf16, CPUs with AVX-512-BF16/AMX), else float32."""
    if name == "bfloat16":
        return torch.bfloat16
    if name == "float32":
        return torch.float32
    if name != "auto":
        raise ValueError(f"annotate.dtype: unknown dtype {name!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    native_bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return torch.bfloat16 if native_bf16 else torch.float32


class TransformersBackend:
    """Batched, grammar-constrained generation with a transformers causal LM."""

    name = "transformers"

    def __init__(self, cfg: dict[str, Any]):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = cfg.get("model") or ""
        self.hints = bool(cfg.get("hints", True))
        self.batch_size = int(cfg.get("batch_size", 16))
        sampling = cfg.get("sampling", {})
        self.temperature = float(sampling.get("temperature", 0.0))
        self.top_p = float(sampling.get("top_p", 1.0))
        self.max_tokens = int(sampling.get("max_tokens", 256))
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

        source = models.resolve(self.model, cfg.get("gguf_file"))
        try:
            path = models.safetensors_dir(source)
            self.tokenizer = AutoTokenizer.from_pretrained(path, token=models.hf_token())
            self.lm = AutoModelForCausalLM.from_pretrained(
                path, dtype=pick_dtype(cfg.get("dtype", "auto"), self.device),
                token=models.hf_token()).to(self.device).eval()
        except OSError as err:  # hub/HTTP errors of huggingface_hub derive from OSError
            raise models.unavailable(self.model, err) from err
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat_template = models.chat_template(self.tokenizer, cfg.get("chat_template"), self.model)
        self.stop_ids = self._stop_ids()
        info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.lm.config.get_text_config().vocab_size,
            stop_token_ids=self.stop_ids)
        self.grammar = xgr.GrammarCompiler(info).compile_json_schema(
            json.dumps(json_schema()), any_whitespace=False)

    def _stop_ids(self) -> list[int]:
        """Token ids that end an answer: the tokenizer's EOS and the generation config's."""
        ids = {self.tokenizer.eos_token_id}
        configured = self.lm.generation_config.eos_token_id
        ids.update(configured if isinstance(configured, list) else [configured])
        return sorted(i for i in ids if i is not None)

    def prompts(self, rows: Sequence[Row]) -> list[str]:
        """Each row's conversation rendered by the chat template, ready for generation."""
        return [self.tokenizer.apply_chat_template(
                    build_messages(row, self.hints), chat_template=self.chat_template,
                    tokenize=False, add_generation_prompt=True)
                for row in rows]

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        prompts = self.prompts(rows)
        answers: list[Answer] = []
        for start in range(0, len(prompts), self.batch_size):
            answers += self.generate(prompts[start:start + self.batch_size], seed)
        return answers

    @torch.inference_mode()
    def generate(self, prompts: list[str], seed: int, constrained: bool = True) -> list[Answer]:
        """One `generate` call over `prompts` as a left-padded batch. `constrained=False` drops
        the grammar (the reference method the benchmark compares against)."""
        batch = self.tokenizer(prompts, padding=True, add_special_tokens=False,
                               return_tensors="pt").to(self.device)
        torch.manual_seed(seed)
        sample = self.temperature > 0
        out = self.lm.generate(
            **batch, max_new_tokens=self.max_tokens, do_sample=sample,
            temperature=self.temperature if sample else None,
            top_p=self.top_p if sample else None, top_k=None,
            logits_processor=[GrammarLogitsProcessor(self.grammar)] if constrained else None,
            eos_token_id=self.stop_ids, pad_token_id=self.tokenizer.pad_token_id)
        new = out[:, batch["input_ids"].shape[1]:].tolist()
        tokens_in = batch["attention_mask"].sum(dim=1).tolist()
        return [Answer(raw=self.tokenizer.decode(self._until_stop(ids), skip_special_tokens=True),
                       tokens_in=int(n_in), tokens_out=len(self._until_stop(ids, keep_stop=True)))
                for ids, n_in in zip(new, tokens_in)]

    def _until_stop(self, ids: list[int], keep_stop: bool = False) -> list[int]:
        """Generated ids up to the first stop token (padding after it is not output)."""
        for i, token in enumerate(ids):
            if token in self.stop_ids:
                return ids[:i + 1] if keep_stop else ids[:i]
        return ids
