"""Reading delimited text files record by record, with the line each record starts on, so that
every error and every kept row can name its file and line.

Decoding (`decode_text`): a byte-order mark decides; else bytes that are valid UTF-8 are read as
UTF-8 (when the configured encoding is an ASCII-compatible one such as cp1252 or latin-1, which
would silently mangle UTF-8); else the configured encoding. Csv's field size limit is lifted while
parsing, so one huge field cannot abort a whole file: `raw_frame` drops a text longer than
MAX_FIELD_CHARS as `oversized_field` instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 131_072  # csv's default field limit (characters); longer texts are dropped
# Longest BOM first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_ASCII_PROBE = "\t\n\r ;,\"'+-~\\azAZ09"


class CorpusFormatError(ValueError):
    """A corpus file does not have the expected format; the message names the file and line."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def check_encoding(encoding: str, key: str) -> str:
    """`encoding` when Python knows it as a text encoding, else a ValueError naming config `key`."""
    try:
        codecs.lookup(encoding)
        "".encode(encoding)
    except LookupError as exc:
        raise ValueError(f"{key}: {encoding!r} is not a known text encoding ({exc})") from None
    return encoding


def decode_text(data: bytes, path: str | os.PathLike, encoding: str) -> tuple[str, str]:
    """Decode a file's bytes; returns `(text, codec used)`. The order: a byte-order mark (removed);
    then UTF-8 if the bytes are valid UTF-8 and `encoding` is ASCII-compatible; then `encoding`.
    Undecodable bytes raise CorpusFormatError naming the file and line."""
    codec, reason = _detect(data, encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not valid {codec} ({exc.reason})") from None
    _note(path, codec, encoding, reason)
    return text, codec


def iter_records(path: str | os.PathLike, *, delimiter: str, encoding: str = "utf-8",
                 quoting: int = csv.QUOTE_MINIMAL, n_fields: int | None = None
                 ) -> Iterator[tuple[int, list[str]]]:
    """Yield `(line, fields)` for each record of a delimited file (decoded by `decode_text`);
    `line` is the 1-based physical line the record starts on (records may span lines inside
    quoted fields). Fields of any length are read (see MAX_FIELD_CHARS).

    Raises CorpusFormatError naming file and line on undecodable bytes, a field count other than
    `n_fields` (when given) or a broken quoted field.
    """
    path = Path(path)
    text, _ = decode_text(path.read_bytes(), path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting,
                        strict=True)
    start = 1
    while True:
        limit = csv.field_size_limit(sys.maxsize)
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CorpusFormatError(path, start, f"malformed record ({exc})") from None
        finally:
            csv.field_size_limit(limit)
        if fields:  # csv yields [] for a blank line, which is no record
            if n_fields is not None and len(fields) != n_fields:
                raise CorpusFormatError(
                    path, start, f"expected {n_fields} {_name(delimiter)}-separated fields, "
                    f"got {len(fields)}")
            yield start, fields
        start = reader.line_num + 1


def parse_float(value: str, path: str | os.PathLike, line: int, key: str,
                low: float = 0.0, high: float = 1.0) -> float:
    """`value` as a float in [low, high], or a CorpusFormatError naming file, line and key."""
    try:
        number = float(value)
    except ValueError:
        raise CorpusFormatError(path, line, f"{key} {_short(value)} is not a number") from None
    if not low <= number <= high:
        raise CorpusFormatError(path, line, f"{key} {number} is outside [{low}, {high}]")
    return number


def raw_frame(rows: list[tuple[str, str, list[str], float | None, str | None]]) -> pd.DataFrame:
    """The frame every reader returns, one row per record read:
    `source_row` ("file:line"), `text` (as read), `source_labels` (list[str], verbatim),
    `intensity` (float in [0,1] or NaN), `drop_reason` (None, or why the reader rejects it).
    A text longer than MAX_FIELD_CHARS characters is dropped here as `oversized_field`."""
    df = pd.DataFrame(rows, columns=["source_row", "text", "source_labels", "intensity",
                                     "drop_reason"])
    df["source_row"] = df["source_row"].astype("string")
    df["text"] = df["text"].astype("string")
    df["intensity"] = pd.to_numeric(df["intensity"], errors="raise").astype("float64")
    df["drop_reason"] = df["drop_reason"].astype("string")
    oversized = df["drop_reason"].isna() & (df["text"].str.len() > MAX_FIELD_CHARS)
    df.loc[oversized, "drop_reason"] = "oversized_field"
    return df


def _detect(data: bytes, encoding: str) -> tuple[str, str]:
    """The codec to decode `data` with (see decode_text) and why."""
    bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
    if bom:
        return bom, "byte-order mark"
    if _ascii_compatible(encoding) and not data.isascii() and _is_utf8(data):
        return "utf-8", "valid UTF-8"
    return encoding, "configured"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ascii_compatible(encoding: str) -> bool:
    """Whether `encoding` writes ASCII as ASCII (latin-1, cp1252: yes; UTF-16, EBCDIC: no)."""
    return _ASCII_PROBE.encode(encoding, errors="replace") == _ASCII_PROBE.encode("ascii")


def _note(path: str | os.PathLike, codec: str, configured: str, reason: str) -> None:
    """Log the codec a file was decoded with; a warning when it is not the configured one."""
    same = _canonical(codec) == _canonical(configured)
    log.log(logging.INFO if same else logging.WARNING,
            "%s: decoded as %s (%s; configured: %s)", path, codec, reason, configured)


def _canonical(encoding: str) -> str:
    return codecs.lookup(encoding).name.removesuffix("-sig")


def _short(value: str, chars: int = 60) -> str:
    """`repr(value)`, cut to about `chars` characters for error messages."""
    return repr(value) if len(value) <= chars else repr(value[:chars]) + f"… ({len(value)} chars)"


def _name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}.get(delimiter, repr(delimiter))
