"""Annotation backends behind one interface (`base.Backend`), chosen by `annotate.backend`.

The LLM backends are imported only when asked for, so the offline default needs none of their
dependencies. `backend_identity` gives a backend's name, model and fingerprint (the answer
cache key's share) from the config alone, so a run whose answers are all cached never loads a
model.
"""

from __future__ import annotations

import importlib
from typing import Any

from blendtalk.annotate.backends.base import Answer, Backend, Identity, Row

#: backend name → (module, class); every class is constructed as `cls(cfg)` with the `annotate`
#: config section.
BACKENDS: dict[str, tuple[str, str]] = {
    "rules": ("blendtalk.annotate.backends.rules", "RulesBackend"),
    "transformers": ("blendtalk.annotate.backends.transformers_backend", "TransformersBackend"),
    "vllm": ("blendtalk.annotate.backends.vllm_backend", "VLLMBackend"),
}


def backend_name(cfg: dict[str, Any]) -> str:
    """`cfg["backend"]` (default rules), checked against BACKENDS."""
    name = cfg.get("backend", "rules")
    if name not in BACKENDS:
        raise ValueError(f"annotate.backend: unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    return name


def backend_identity(cfg: dict[str, Any]) -> Identity:
    """The name, model and fingerprint the backend built from `cfg` will have, without building
    it (the LLM backends' modules are not even imported)."""
    name = backend_name(cfg)
    if name == "rules":
        from blendtalk.annotate.backends.rules import RULES_MODEL, fingerprint

        return Identity(name, RULES_MODEL, fingerprint())
    from blendtalk.annotate import models

    return Identity(name, cfg.get("model") or "", models.fingerprint(cfg))


def make_backend(cfg: dict[str, Any]) -> Backend:
    """Construct the backend named by `cfg["backend"]` (the `annotate` config section)."""
    name = backend_name(cfg)
    module_name, class_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise NotImplementedError(f"annotate.backend {name!r}: module {module_name} is not "
                                      "implemented in this checkout") from err
        raise ImportError(f"annotate.backend {name!r} needs the package {err.name!r}, which is "
                          f"not installed") from err
    return getattr(module, class_name)(cfg)


__all__ = ["Answer", "Backend", "Identity", "Row", "BACKENDS", "backend_identity", "backend_name",
           "make_backend"]
