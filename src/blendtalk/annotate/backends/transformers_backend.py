"""The `transformers` backend: a local model directory, hub id or GGUF file, batched generation
(left padding, or the shared prompt prefix's KV cache computed once and padding after it),
decoding constrained by xgrammar to the answer JSON schema.

Conversations are formatted by the tokenizer's chat template (`models.chat_template`); a GGUF is
converted once to a cached safetensors directory (`models.safetensors_dir`).
"""

from __future__ import annotations

import copy
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


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix all sequences share, leaving each at least one own token
    (generation needs a last input token to compute logits from)."""
    shortest = min(len(seq) for seq in sequences)
    n = 0
    while n < shortest - 1 and all(seq[n] == sequences[0][n] for seq in sequences):
        n += 1
    return n


class TransformersBackend:
    """Batched, grammar-constrained generation with a transformers causal LM."""

    name = "transformers"

    def __init__(self, cfg: dict[str, Any]):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = cfg.get("model") or ""
        self.fingerprint = models.fingerprint(cfg)
        self.hints = bool(cfg.get("hints", True))
        self.batch_size = int(cfg.get("batch_size", 16))
        sampling = cfg.get("sampling", {})
        self.temperature = float(sampling.get("temperature", 0.0))
        self.top_p = float(sampling.get("top_p", 1.0))
        self.max_tokens = int(sampling.get("max_tokens", 256))
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self._prefix_cached: tuple[tuple[int, ...], Any] | None = None
        self.prefix_cache = bool(cfg.get("prefix_cache", True))

        source = models.resolve(self.model, cfg.get("gguf_file"))
        try:
            path = models.safetensors_dir(source)
            self.tokenizer = AutoTokenizer.from_pretrained(path, token=models.hf_token())
            self.lm = AutoModelForCausalLM.from_pretrained(
                path, dtype=pick_dtype(cfg.get("dtype", "auto"), self.device),
                token=models.hf_token()).to(self.device).eval()
        except OSError as err:  # hub/HTTP errors of huggingface_hub derive from OSError
            raise models.unavailable(self.model, err) from err
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat_template = models.chat_template(self.tokenizer, cfg.get("chat_template"), self.model)
        self.stop_ids = self._stop_ids()
        info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.lm.config.get_text_config().vocab_size,
            stop_token_ids=self.stop_ids)
        self.grammar = xgr.GrammarCompiler(info).compile_json_schema(
            json.dumps(json_schema()), any_whitespace=False)

    @property
    def prefix_cache(self) -> bool:
        """Encode the prompts' shared prefix once and reuse its KV cache. Setting it (on or off)
        drops the stored prefix."""
        return self._prefix_cache

    @prefix_cache.setter
    def prefix_cache(self, enabled: bool) -> None:
        self._prefix_cache, self._prefix_cached = bool(enabled), None

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
        """One `generate` call over `prompts` as a padded batch. `constrained=False` drops the
        grammar (the reference method the benchmark compares against).

        With `prefix_cache`, the prompts' common token prefix (system prompt and few-shot
        examples) is encoded once and its KV cache reused: each row is laid out as prefix,
        padding, own suffix. Otherwise rows are left-padded whole."""
        encoded = self.tokenizer(prompts, add_special_tokens=False).input_ids
        known = [self._prefix_cached[0]] if self._prefix_cached else []
        prefix = common_prefix(encoded + known) if self.prefix_cache else 0
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in encoded) - prefix
        input_ids = [ids[:prefix] + [pad] * (width - len(ids) + prefix) + ids[prefix:] for ids in encoded]
        mask = [[1] * prefix + [0] * (width - len(ids) + prefix) + [1] * (len(ids) - prefix)
                for ids in encoded]
        cache = self._prefix_kv(tuple(encoded[0][:prefix]), len(encoded)) if prefix else None
        torch.manual_seed(seed)
        sample = self.temperature > 0
        out = self.lm.generate(
            input_ids=torch.tensor(input_ids, device=self.device),
            attention_mask=torch.tensor(mask, device=self.device), past_key_values=cache,
            max_new_tokens=self.max_tokens, do_sample=sample,
            temperature=self.temperature if sample else None,
            top_p=self.top_p if sample else None, top_k=None,
            logits_processor=[GrammarLogitsProcessor(self.grammar)] if constrained else None,
            eos_token_id=self.stop_ids, pad_token_id=pad)
        new = out[:, len(input_ids[0]):].tolist()
        return [Answer(raw=self.tokenizer.decode(self._until_stop(ids), skip_special_tokens=True),
                       tokens_in=len(prompt_ids), tokens_out=len(self._until_stop(ids, keep_stop=True)))
                for ids, prompt_ids in zip(new, encoded)]

    def _prefix_kv(self, prefix: tuple[int, ...], batch_size: int) -> Any:
        """A fresh copy of the KV cache of `prefix` (computed once per distinct prefix),
        repeated for `batch_size` rows."""
        if self._prefix_cached is None or self._prefix_cached[0] != prefix:
            out = self.lm(input_ids=torch.tensor([prefix], device=self.device), use_cache=True,
                          logits_to_keep=1)
            self._prefix_cached = (prefix, out.past_key_values)
        cache = copy.deepcopy(self._prefix_cached[1])
        cache.batch_repeat_interleave(batch_size)
        return cache

    def _until_stop(self, ids: list[int], keep_stop: bool = False) -> list[int]:
        """Generated ids up to the first stop token (padding after it is not output)."""
        for i, token in enumerate(ids):
            if token in self.stop_ids:
                return ids[:i + 1] if keep_stop else ids[:i]
        return ids
