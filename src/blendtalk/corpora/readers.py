"""Dispatch from a configured source (`corpora.sources.<name>`) to its reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .goemotions import read_raw, read_simplified
from .isear import read_isear
from .records import check_encoding
from .table import read_table
from .tweet_intensity import read_tweet_intensity

FORMATS = ("goemotions_simplified", "goemotions_raw", "tweet_intensity", "isear", "table")
# The encoding each format is read with when `encoding` is null (a BOM or valid UTF-8 still wins).
DEFAULT_ENCODINGS = {"isear": "latin-1"}


def read_source(name: str, spec: Mapping[str, Any]) -> pd.DataFrame:
    """Read all files of one source into the raw frame of `records.raw_frame`."""
    fmt, files = spec["format"], list(spec["files"])
    if not files:
        raise ValueError(f"corpora.sources.{name}.files is empty")
    if fmt not in FORMATS:
        raise ValueError(f"corpora.sources.{name}.format {fmt!r} is not one of {FORMATS}")
    encoding = check_encoding(spec.get("encoding") or DEFAULT_ENCODINGS.get(fmt, "utf-8"),
                              f"corpora.sources.{name}.encoding")
    if fmt == "goemotions_simplified":
        if not spec.get("labels_file"):
            raise ValueError(f"corpora.sources.{name}.labels_file is required for {fmt}")
        return read_simplified(files, spec["labels_file"], encoding=encoding)
    if fmt == "goemotions_raw":
        return read_raw(files, min_raters=spec.get("min_raters", 2),
                        max_unclear_fraction=spec.get("max_unclear_fraction", 0.5),
                        encoding=encoding)
    if fmt == "tweet_intensity":
        return read_tweet_intensity(files, encoding=encoding)
    if fmt == "isear":
        if len(files) != 1:
            raise ValueError(f"corpora.sources.{name}.files must name one isear_dataset.csv")
        return read_isear(files[0], encoding=encoding)
    return read_table(files, text_column=spec.get("text_column") or "text",
                      label_column=spec.get("label_column"),
                      label_separator=spec.get("label_separator"),
                      intensity_column=spec.get("intensity_column"), encoding=encoding)
