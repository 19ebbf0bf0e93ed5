"""Where blendtalk reads and writes: the project directory, the one cache root, and the bundled
resources.

- `project_root()`: the directory a workflow runs in (the nearest of the working directory and
  its parents that holds a `Snakefile`, else the working directory).
- `cache_root()`: downloads, converted models and embeddings; `$BLENDTALK_CACHE`, else
  `<project>/.cache`. A config path written `.cache/...` means "under the cache root"
  (`in_cache`).
- `resource(relpath)`: a bundled file such as `resources/facs/au_to_arkit.csv`, taken from the
  project when it has its own copy, else from the installed package.
- `ensure_inside(path, key)`: refuses a path to be written that escapes the project and the
  cache root (or the given folders), naming the config key.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path

CACHE_ENV = "BLENDTALK_CACHE"
CACHE_PREFIX = ".cache"
#: The source checkout this module lies in (an editable install); unused by a wheel install.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


class PathEscapeError(ValueError):
    """A configured path to write resolves outside the project and the cache root."""


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest of `start` (default: the working directory) and its parents that holds a
    `Snakefile`; `start` itself when none does."""
    start = Path(start or os.getcwd()).resolve()
    return next((d for d in (start, *start.parents) if (d / "Snakefile").is_file()), start)


def cache_root() -> Path:
    """The one cache directory: `$BLENDTALK_CACHE` (made absolute), else `<project>/.cache`."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return project_root() / CACHE_PREFIX


def in_cache(path: str) -> str:
    """Map a config path `.cache/<rest>` onto the cache root (other paths are returned as they
    are). The result stays relative to the project when the cache root lies inside it, so the
    default layout gives the same strings (and Snakemake parameters) as before."""
    parts = Path(path).parts
    if not parts or parts[0] != CACHE_PREFIX:
        return path
    target = cache_root().joinpath(*parts[1:])
    project = project_root()
    return str(target.relative_to(project)) if target.is_relative_to(project) else str(target)


def ensure_inside(path: str | os.PathLike, key: str, within: Sequence[Path] | None = None
                  ) -> Path:
    """Resolve `path` (relative to the project, `.cache/...` under the cache root) and return it
    when it lies inside one of `within` (default: the project and the cache root); otherwise
    raise PathEscapeError naming the config `key`."""
    roots = list(within) if within is not None else [project_root(), cache_root()]
    resolved = (project_root() / in_cache(str(path))).resolve()
    if any(resolved.is_relative_to(root.resolve()) for root in roots):
        return resolved
    raise PathEscapeError(
        f"config key '{key}': {str(path)!r} resolves to {resolved}, outside "
        f"{' and '.join(map(str, roots))} (set ${CACHE_ENV} to move the cache root)")


def packaged(name: str) -> Path:
    """A folder bundled with the package (`resources` or `schemas`): inside the installed package,
    or at the top of the source checkout for an editable install."""
    installed = Path(str(importlib.resources.files("blendtalk"))) / name
    return installed if installed.is_dir() else SOURCE_ROOT / name


def resource(relpath: str | os.PathLike) -> Path:
    """The file a resource path of the config names, e.g. `resources/facs/au_to_arkit.csv`: an
    absolute path as it is, else the project's own copy when it exists, else the packaged one.

    Raises FileNotFoundError naming both places when neither exists.
    """
    path = Path(relpath)
    if path.is_absolute():
        return path
    local = project_root() / path
    if local.exists():
        return local
    parts = path.parts[1:] if path.parts[:1] == ("resources",) else path.parts
    bundled = packaged("resources").joinpath(*parts)
    if bundled.exists():
        return bundled
    raise FileNotFoundError(f"resource {str(relpath)!r} is neither in the project ({local}) nor "
                            f"bundled with blendtalk ({bundled})")
