"""Vectorised text cleaning (pyarrow compute kernels over the whole column).

Order of the steps, each switchable in config (`corpora.clean`):
 1. mojibake repair, only where it is provable: runs of characters that are UTF-8 bytes read as
    Windows-1252 or Latin-1 and decode as UTF-8 ("ðŸ˜ž" → "😞", "donâ\x80\x99t" → "don’t");
    then any C1 control left (U+0080–U+009F, never text) is read as the Windows-1252 byte it
    was ("don\x92t" → "don’t"); `mojibake_rows` tells the rows it changes (counted in qc);
 2. literal escapes `\\n`, `\\t`, `\\r` (backslash + letter in the text) → space;
 3. HTML entities (`&amp;`, `&#39;`) → characters;
 4. Unicode NFC; control and format characters (except the zero-width joiner emoji need) → space;
 5. URLs removed; @mentions removed or replaced; #hashtags keep their word;
 6. masks like `[NAME]`: replaced by a word from a table, removed, kept, or the row dropped;
 7. whitespace collapsed and stripped; a removal (5, 6) just before punctuation or the end takes
    the space before it along ("thanks @amy!" → "thanks!"). Emoji are kept.
Then rows are dropped with a reason: `empty`, `mask`, `placeholder` (answers such as
"[ No response.]"), `too_short` / `too_long` (word counts outside the bounds).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_PLACEHOLDERS = (
    "no response", "none", "nothing", "not applicable", "not applicable to myself",
    "never experienced", "never", "same as above", "do not remember", "can not remember",
    "cannot remember", "does not apply", "doesn't apply", "n a", "blank",
    "i have never felt this emotion",
)

_CP1252 = {}  # character → the byte it is in Windows-1252 (or in Latin-1, for C1 controls)
_C1_AS_CP1252 = {}  # C1 control → the Windows-1252 character of its byte (a str.translate table)
for _b in range(256):
    try:
        _CP1252[bytes([_b]).decode("cp1252")] = _b
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d pass through as Latin-1
        _CP1252[chr(_b)] = _b
for _b in range(0x80, 0xA0):  # UTF-8 read as Latin-1 leaves C1 controls where cp1252 has symbols
    _CP1252.setdefault(chr(_b), _b)
    if bytes([_b]).decode("cp1252", errors="ignore"):
        _C1_AS_CP1252[_b] = bytes([_b]).decode("cp1252")
_CONT = "".join(re.escape(c) for c, b in _CP1252.items() if 0x80 <= b <= 0xBF)
_LEAD = "".join(re.escape(c) for c, b in _CP1252.items() if 0xC2 <= b <= 0xF4)
_MOJIBAKE_RUN = re.compile(f"(?:[{_LEAD}][{_CONT}]+)+")
_HAS_MOJIBAKE = f"[{_LEAD}][{_CONT}]|[{''.join(map(chr, _C1_AS_CP1252))}]"

_URL = r"(?i)\b(?:https?://|www\.)\S+"
_MENTION = r"(^|[^\w@])@\w+"
_HASHTAG = r"(^|[^\w#])#(\w+)"
_MASK = r"\[([A-Z][A-Z_]*)\]"
# What steps 5 and 6 remove becomes this mark first (control characters are gone by then), so
# that step 7 can tell a removal's space from the writer's.
_REMOVED = "\x00"
_REMOVED_BEFORE_PUNCTUATION = r"\s*\x00[\s\x00]*([.,!?;:)\]}…]|$)"  # → the punctuation
# Cc plus the format characters that are invisible noise; U+200D (ZWJ) is kept for emoji.
_CONTROL = r"[\p{Cc}\x{00AD}\x{200B}\x{200C}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{FEFF}]"


@dataclass(frozen=True)
class CleanOptions:
    """Cleaning switches; the config section `corpora.clean` maps 1:1 onto these fields."""

    fix_mojibake: bool = True
    literal_escapes: bool = True
    html_entities: bool = True
    urls: str = "remove"            # remove | keep
    mentions: str = "remove"        # remove | replace | keep
    mention_token: str = "someone"
    hashtags: str = "word"          # word | remove | keep
    masks: str = "replace"          # replace | remove | keep | drop
    mask_words: dict[str, str] = field(default_factory=lambda: {"NAME": "Alex",
                                                                "RELIGION": "religion"})
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    min_words: int = 4
    max_words: int = 60

    def __post_init__(self) -> None:
        for key, allowed in (("urls", ("remove", "keep")),
                             ("mentions", ("remove", "replace", "keep")),
                             ("hashtags", ("word", "remove", "keep")),
                             ("masks", ("replace", "remove", "keep", "drop"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"corpora.clean.{key} must be one of {allowed}, "
                                 f"got {getattr(self, key)!r}")
        if self.min_words > self.max_words:
            raise ValueError("corpora.clean.min_words exceeds corpora.clean.max_words")
        object.__setattr__(self, "placeholders", tuple(self.placeholders))


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 decoded as Windows-1252 or Latin-1, run by run (runs that do not decode stay as
    they are), then read the C1 controls left as the Windows-1252 characters of their bytes."""
    def repair(match: re.Match) -> str:
        try:
            return bytes(_CP1252[c] for c in match.group()).decode("utf-8")
        except UnicodeDecodeError:
            return match.group()
    return _MOJIBAKE_RUN.sub(repair, text).translate(_C1_AS_CP1252)


def mojibake_rows(texts: pd.Series) -> np.ndarray:
    """Boolean mask of the `texts` that `fix_mojibake` changes."""
    return _map_where(_arrow(texts), _HAS_MOJIBAKE, fix_mojibake)[1]


def placeholder_key(texts: pa.Array) -> pa.Array:
    """Casefolded letters/digits separated by single spaces: "[ No response.]" → "no response"."""
    key = pc.utf8_lower(texts)
    key = pc.replace_substring_regex(key, r"[^\p{L}\p{N}']+", " ")
    return pc.utf8_trim_whitespace(key)


def clean_texts(texts: pd.Series, options: CleanOptions = CleanOptions()
                ) -> tuple[pd.Series, pd.Series]:
    """Clean a column of texts. Returns `(cleaned, drop_reason)`, both aligned with `texts`;
    `drop_reason` is NA for rows that pass, else one of empty, mask, placeholder, too_short,
    too_long."""
    arr = _arrow(texts)
    arr = _map_where(arr, _HAS_MOJIBAKE, fix_mojibake)[0] if options.fix_mojibake else arr
    if options.literal_escapes:
        for escape in ("\\n", "\\t", "\\r"):
            arr = pc.replace_substring(arr, escape, " ")
    if options.html_entities:
        arr = _map_where(arr, r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+\d*);", html.unescape)[0]
    arr = pc.utf8_normalize(arr, form="NFC")
    arr = pc.replace_substring_regex(arr, _CONTROL, " ")
    if options.urls == "remove":
        arr = pc.replace_substring_regex(arr, _URL, _REMOVED)
    if options.mentions != "keep":
        token = _REMOVED if options.mentions == "remove" else options.mention_token
        arr = pc.replace_substring_regex(arr, _MENTION, r"\1" + token.replace("\\", r"\\"))
    if options.hashtags != "keep":
        arr = pc.replace_substring_regex(arr, _HASHTAG,
                                         r"\1\2" if options.hashtags == "word" else r"\1")
    has_mask = pc.match_substring_regex(arr, _MASK).to_numpy(zero_copy_only=False)
    if options.masks in ("replace", "remove"):
        if options.masks == "replace":
            for mask, word in options.mask_words.items():
                arr = pc.replace_substring(arr, f"[{mask}]", word)
        arr = pc.replace_substring_regex(arr, _MASK, _REMOVED)
    arr = pc.replace_substring_regex(arr, _REMOVED_BEFORE_PUNCTUATION, r"\1")
    arr = pc.replace_substring(arr, _REMOVED, " ")
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))

    words = pc.count_substring_regex(arr, r"\S+").to_numpy(zero_copy_only=False)
    keys = pa.array([_key(p) for p in options.placeholders], type=pa.large_string())
    longest = max((len(k) for k in keys.to_pylist()), default=0)
    is_placeholder = np.zeros(len(arr), dtype=bool)
    # only texts not much longer than the longest placeholder (plus brackets, dots) can be one
    short = np.flatnonzero(pc.utf8_length(arr).to_numpy(zero_copy_only=False) <= 2 * longest + 8)
    if len(short):
        is_placeholder[short] = pc.is_in(placeholder_key(arr.take(pa.array(short))),
                                         value_set=keys).to_numpy(zero_copy_only=False)
    reason = np.select(
        [words == 0, has_mask & (options.masks == "drop"), is_placeholder,
         words < options.min_words, words > options.max_words],
        ["empty", "mask", "placeholder", "too_short", "too_long"], default="")
    cleaned = pd.Series(arr.to_numpy(zero_copy_only=False), index=texts.index, dtype="string")
    return cleaned, pd.Series(reason, index=texts.index, dtype="string").replace("", pd.NA)


def _key(text: str) -> str:
    return placeholder_key(pa.array([text], type=pa.large_string()))[0].as_py()


def _arrow(texts: pd.Series) -> pa.Array:
    """A text column as a pyarrow large_string array, NA as ""."""
    return pa.array(texts.astype(object).where(texts.notna(), ""), type=pa.large_string())


def _map_where(arr: pa.Array, pattern: str, func: Callable[[str], str]
               ) -> tuple[pa.Array, np.ndarray]:
    """Apply a Python `func` only to the elements matching `pattern` (usually few). Returns the
    new array and the boolean mask of the elements `func` changed."""
    hit = pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False)
    changed = np.zeros(len(arr), dtype=bool)
    if not hit.any():
        return arr, changed
    values = arr.to_numpy(zero_copy_only=False).copy()
    new = [func(v) for v in values[hit]]
    changed[hit] = [a != b for a, b in zip(new, values[hit])]
    values[hit] = new
    return pa.array(values, type=pa.large_string()), changed
