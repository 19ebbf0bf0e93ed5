"""Annotation backends behind one interface (`base.Backend`), chosen by `annotate.backend`.

The LLM backends are imported only when asked for, so the offline default needs none of their
dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

from blendtalk.annotate.backends.base import Answer, Backend, Row

#: backend name → (module, class); every class is constructed as `cls(cfg)` with the `annotate`
#: config section.
BACKENDS: dict[str, tuple[str, str]] = {
    "rules": ("blendtalk.annotate.backends.rules", "RulesBackend"),
    "transformers": ("blendtalk.annotate.backends.transformers_backend", "TransformersBackend"),
    "vllm": ("blendtalk.annotate.backends.vllm_backend", "VLLMBackend"),
}


def make_backend(cfg: dict[str, Any]) -> Backend:
    """Construct the backend named by `cfg["backend"]` (the `annotate` config section)."""
    name = cfg.get("backend", "rules")
    if name not in BACKENDS:
        raise ValueError(f"annotate.backend: unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
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


__all__ = ["Answer", "Backend", "Row", "BACKENDS", "make_backend"]
