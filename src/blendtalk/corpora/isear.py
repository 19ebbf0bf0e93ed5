"""ISEAR (International Survey on Emotion Antecedents and Reactions) reader, for the widely
circulated `isear_dataset.csv` export."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from .records import CorpusFormatError, iter_records, raw_frame

# The export carries a stray byte 0xE1 (Latin-1 "á") before every line break inside an answer,
# a leftover of the original database's paragraph marks.
_STRAY_BREAK = re.compile(r"[ \t]*\xe1(?=\r?\n)")


def read_isear(path: str | os.PathLike, encoding: str = "latin-1") -> pd.DataFrame:
    """`;`-separated with header `emo;txt`, Latin-1, CRLF line ends, quoted answers that span
    lines (decoded by `records.decode_text`: a BOM or valid UTF-8 wins over `encoding`). The stray
    0xE1 before an in-text line break is removed here; the line breaks themselves are whitespace
    for the cleaning step. Placeholder answers are left to the cleaning step's placeholder list.
    An empty or header-only file gives no rows. Returns the raw frame of `records.raw_frame`."""
    records = iter_records(path, delimiter=";", encoding=encoding)
    _, header = next(records, (1, ["emo", "txt"]))  # an empty file: no rows
    if [h.strip().lower() for h in header] != ["emo", "txt"]:
        raise CorpusFormatError(path, 1, f"header must be 'emo;txt', got {';'.join(header)!r}")
    name = Path(path).name
    rows = []
    for line, fields in records:
        if len(fields) != 2:
            raise CorpusFormatError(path, line, f"expected 2 semicolon-separated fields, got "
                                    f"{len(fields)}")
        emotion, text = fields
        rows.append((f"{name}:{line}", _STRAY_BREAK.sub("", text), [emotion.strip()], None, None))
    return raw_frame(rows)
