"""Atomic output: every artifact is written to a temporary file beside its target, then renamed,
so an interrupted run never leaves a truncated file that Snakemake would take as finished.

Temporary names are `.{name}.{pid}.XXXXXXXX.tmp` beside the target. A process killed mid-write
(`kill -9`) cannot remove its own, so each write first removes those of the same target whose
writing process is gone (a cache file may have several live writers at once; theirs are kept).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp/mkdtemp put between prefix and suffix


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """The temporary files or directories of earlier writes of `path` whose process is gone."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.{_TEMP_RANDOM}{re.escape(TEMP_SUFFIX)}")
    matches = ((p, pattern.fullmatch(p.name)) for p in path.parent.iterdir())
    return sorted(p for p, m in matches if m and not _alive(int(m.group(1))))


def _remove_stale_temporaries(path: Path) -> None:
    for stale in stale_temporaries(path):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path in the target's directory; on success rename it onto `path`
    with the permissions a plain `open` would give (0644 under the usual umask).

    On error the temporary file is removed and the target is left untouched; temporary files of
    earlier, killed writes of `path` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; on success it replaces `path` (an
    existing directory there is removed first). On error the temporary directory is removed;
    temporary directories of earlier, killed writes of `path` are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp_path = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent))
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp_path, path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write `df` as zstd-compressed Parquet, atomically, without the pandas index."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, engine="pyarrow", compression="zstd", index=False)


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable) + "\n",
                       encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
