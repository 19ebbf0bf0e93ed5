"""Parse, validate and repair a model's raw answer into one annotation.

Every change made to an answer is recorded as a human-readable problem string; an answer that
needed changes is `repaired`, one that cannot be made valid is `invalid` (kept, with its problems
and raw text, never dropped). Repairs, in order:

1. Extraction: code fences stripped, the JSON object cut out of surrounding text, truncated JSON
   closed at the last complete value (a string cut mid-way is never completed).
2. Keys: case-folded, common synonyms renamed (``aus`` → ``action_units``, ``emotion`` →
   ``emotions``, ...), unknown keys dropped.
3. Emotions: a string or dict where a list belongs is converted; synonyms mapped to the common
   label set (``happiness`` → ``joy``); unknown labels and duplicates dropped; at most 5 kept.
4. Action units: a dict (``{"12": "E"}``), a single object or a string (``"AU6+AU12"``) where a list
   belongs is converted; AU names/aliases and ``"AU12"``/``"12"``/``"12C"`` become numbers;
   intensities in other notations (``c``, ``"marked"``, 1–5, 0–1 floats) become letters, others
   drop the AU; a missing intensity becomes C (marked, the scale's middle); unknown AUs dropped;
   duplicates merged keeping the higher intensity; of an incompatible pair (catalogue) the AU with
   the higher intensity is kept, on a tie the one the answer listed first (models list the most
   salient first); at most 12 kept, strongest first. The result is sorted by AU number.
5. Description: a list of strings is joined; an over-long one is cut at a word boundary.
Finally the result is checked against `prompt.json_schema()`.

Parsing is total: whatever a backend returns (bytes, None, lone surrogates, NUL, integers past
any float, nesting past Python's recursion limit, megabytes of text) becomes an `invalid` or
`repaired` annotation with its problems listed; nothing raises. `clean_raw` is the first step,
and the annotation stage applies it before caching, so the cache and the tables only ever hold
text that every later step accepts.
"""

from __future__ import annotations

import json
import re
import reprlib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from blendtalk.annotate.prompt import (DESCRIPTION_MAX_CHARS, MAX_ACTION_UNITS, MAX_EMOTIONS,
                                       json_schema)
from blendtalk.emotions import EMOTIONS
from blendtalk.facs.catalogue import INTENSITY_LETTERS, Catalogue, load_catalogue

STATUSES = ("ok", "repaired", "invalid")
#: Longest raw answer kept (characters): about 20x the longest answer the schema admits, so
#: nothing valid is ever cut, and parsing stays fast whatever a backend emits.
MAX_RAW_CHARS = 20_000
#: Most problems listed for one answer; the rest are counted in a last line.
MAX_PROBLEMS = 40
#: Most truncation cuts tried when closing truncated JSON (the last ones: the longest answers).
MAX_CLOSING_CUTS = 64

_KEY_SYNONYMS = {
    "emotions": "emotions", "emotion": "emotions", "emotion_labels": "emotions",
    "labels": "emotions",
    "action_units": "action_units", "actionunits": "action_units", "action units": "action_units",
    "aus": "action_units", "au": "action_units", "facs": "action_units",
    "action_unit": "action_units", "facs_action_units": "action_units",
    "description": "description", "face_description": "description",
    "facial_description": "description", "desc": "description",
}
_EMOTION_SYNONYMS = {
    "happiness": "joy", "happy": "joy", "joyful": "joy", "amusement": "joy", "delight": "joy",
    "sad": "sadness", "sorrow": "sadness", "grief": "sadness",
    "angry": "anger", "rage": "anger", "annoyance": "anger", "irritation": "anger",
    "afraid": "fear", "fearful": "fear", "scared": "fear", "anxiety": "fear",
    "disgusted": "disgust", "revulsion": "disgust",
    "surprised": "surprise", "astonishment": "surprise", "amazement": "surprise",
    "contemptuous": "contempt", "scorn": "contempt",
    "ashamed": "shame", "embarrassment": "shame", "embarrassed": "shame",
    "guilty": "guilt", "remorse": "guilt", "calm": "neutral", "none": "neutral",
}
_INTENSITY_WORDS = {
    "trace": "A", "slight": "B", "slightly": "B", "low": "B", "weak": "B", "mild": "B",
    "marked": "C", "pronounced": "C", "medium": "C", "moderate": "C",
    "severe": "D", "extreme": "D", "strong": "D", "high": "D",
    "maximum": "E", "max": "E", "maximal": "E",
}
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)(?:```|$)", re.S)
_AU_CODE = re.compile(r"^\s*(?:au)?\s*(\d{1,3})\s*([a-e])?\s*$", re.I)
_AU_PREFIX = re.compile(r"^\s*au\s*(\d{1,3})\b", re.I)
_AU_SPLIT = re.compile(r"\s*(?:[,;+/]|\band\b)\s*", re.I)


@dataclass
class Annotation:
    """One parsed answer. `action_units` holds (AU number, intensity letter) pairs."""

    status: str
    emotions: list[str] = field(default_factory=list)
    action_units: list[tuple[int, str]] = field(default_factory=list)
    description: str = ""
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The answer as the schema's JSON object."""
        return {"emotions": self.emotions,
                "action_units": [{"au": au, "intensity": i} for au, i in self.action_units],
                "description": self.description}


class _Invalid(Exception):
    pass


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = _REPR.maxset = 6


def _show(value: Any) -> str:
    """A short, printable repr of any value for a problem string (bounded length and depth)."""
    try:
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 - e.g. an int past Python's 4300-digit str limit
        return f"<{type(value).__name__}>"


def clean_raw(raw: object) -> tuple[str, list[str]]:
    """A backend's raw output as text that JSON, UTF-8 and Parquet all accept, and the problems
    found: non-text decoded or serialised, lone surrogates replaced by U+FFFD, over-long text cut
    to MAX_RAW_CHARS. Clean text comes back unchanged with no problems."""
    problems: list[str] = []
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        text = bytes(raw).decode("utf-8", errors="replace")
        problems.append("raw: bytes decoded as UTF-8 (invalid bytes replaced)")
    elif raw is None:
        text = ""
        problems.append("raw: no text (None)")
    else:
        text = _serialise(raw)
        problems.append(f"raw: {type(raw).__name__} converted to text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        problems.append("raw: surrogate code points re-encoded (lone ones replaced by U+FFFD)")
    if len(text) > MAX_RAW_CHARS:
        problems.append(f"raw: {len(text)} characters cut to {MAX_RAW_CHARS}")
        text = text[:MAX_RAW_CHARS]
    return text, problems


def _serialise(value: Any) -> str:
    """A non-text answer as JSON text when it is JSON data, else its short repr."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return _show(value)


def parse_answer(raw: object, catalogue: Catalogue | None = None,
                 noted: Sequence[str] = ()) -> Annotation:
    """Parse, repair and validate one raw answer (any object; `clean_raw` first); never raises
    on bad answers. `noted` are problems found before (e.g. by `clean_raw` before caching) and
    lead the problem list."""
    cat = catalogue or load_catalogue()
    text, problems = clean_raw(raw)
    problems[:0] = noted
    ann = _parse(text, cat, problems)
    ann.problems = _capped(ann.problems)
    return ann


def _capped(problems: list[str]) -> list[str]:
    """At most MAX_PROBLEMS problems: the first ones, then a count of the rest."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS - 1], f"{len(problems) - MAX_PROBLEMS + 1} more problems not listed"]


def _parse(text: str, cat: Catalogue, problems: list[str]) -> Annotation:
    """The annotation of clean text, `problems` so far included."""
    try:
        obj = _extract_json(text, problems)
        obj = _normalise_keys(obj, problems)
        missing = [k for k in ("emotions", "action_units", "description") if k not in obj]
        if missing:
            raise _Invalid(f"missing keys {missing}")
        ann = Annotation(status="ok",
                         emotions=_emotions(obj["emotions"], problems),
                         action_units=_action_units(obj["action_units"], cat, problems),
                         description=_description(obj["description"], problems))
    except _Invalid as err:
        return Annotation(status="invalid", problems=[*problems, str(err)])
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(json_schema())
                    .iter_errors(ann.to_json()))
    if errors:
        return Annotation(status="invalid", problems=[*problems, *("schema: " + e for e in errors)])
    ann.problems = problems
    ann.status = "repaired" if problems else "ok"
    return ann


# --- extraction ---------------------------------------------------------------------------------

def _extract_json(raw: str, problems: list[str]) -> Any:
    text = raw.strip()
    if not text:
        raise _Invalid("empty answer")
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
        problems.append("code fence stripped")
    start = text.find("{")
    if start < 0:
        raise _Invalid("no JSON object in answer")
    if start > 0:
        problems.append("text before JSON removed")
    text = text[start:]
    try:
        obj, end = json.JSONDecoder().raw_decode(text)
    except RecursionError:
        raise _Invalid("JSON nested too deeply") from None
    except ValueError:  # a JSONDecodeError, or an integer past Python's 4300-digit limit
        obj = _close_truncated(text)
        if obj is None:
            raise _Invalid("unparseable JSON") from None
        problems.append("truncated JSON closed")
        return obj
    if text[end:].strip():
        problems.append("text after JSON removed")
    return obj


def _close_truncated(text: str) -> Any:
    """Close a JSON text cut off mid-way: try the whole text, then the last MAX_CLOSING_CUTS cuts
    just after a complete value, last first; return the first that parses, else None (also for
    mismatched brackets)."""
    stack: list[str] = []
    in_string = escaped = False
    cuts: list[tuple[int, str]] = []  # (cut index, closers needed there)
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
            cuts.append((i + 1, "".join(reversed(stack))))
        elif ch == ",":
            cuts.append((i, "".join(reversed(stack))))
    # A string cut mid-way is never closed: half a description or AU name is not a safe repair.
    candidates = [] if in_string else [text.rstrip() + "".join(reversed(stack))]
    candidates += [text[:i] + closers for i, closers in reversed(cuts[-MAX_CLOSING_CUTS:])]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return None


def _normalise_keys(obj: Any, problems: list[str]) -> dict:
    if isinstance(obj, list) and len(obj) == 1 and isinstance(obj[0], dict):
        problems.append("answer wrapped in a list: unwrapped")
        obj = obj[0]
    if not isinstance(obj, dict):
        raise _Invalid(f"answer is a JSON {type(obj).__name__}, not an object")
    return _canonical(obj.items(), lambda key: _KEY_SYNONYMS.get(str(key).strip().lower().replace("-", "_")),
                      ("extra key {name} dropped", "duplicate key {name} dropped",
                       "key {name} renamed to {canon}"), problems)


def _canonical(pairs: Iterable[tuple[Any, Any]], lookup: Callable[[Any], str | None],
               messages: tuple[str, str, str], problems: list[str]) -> dict[str, Any]:
    """Map (name, value) pairs to {canonical name: value}, in order, the first of a name winning.
    `messages` are the problem templates for an unknown, a duplicate and a renamed name
    (`{name}`, `{canon}`)."""
    unknown, duplicate, renamed = messages
    out: dict[str, Any] = {}
    for name, value in pairs:
        canon = lookup(name)
        if canon is None:
            problems.append(unknown.format(name=_show(name)))
        elif canon in out:
            problems.append(duplicate.format(name=_show(name)))
        else:
            if canon != name:
                problems.append(renamed.format(name=_show(name), canon=repr(canon)))
            out[canon] = value
    return out


# --- fields -------------------------------------------------------------------------------------

def _emotions(value: Any, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        problems.append("emotions: string converted to list")
        value = [v for v in re.split(r"\s*[,;/]\s*", value) if v]
    elif isinstance(value, dict):
        problems.append("emotions: object converted to list of its keys")
        value = _keys_by_weight(value)
    elif not isinstance(value, list):
        raise _Invalid(f"emotions: expected a list, got {type(value).__name__}")
    labels = []
    for item in value:
        if isinstance(item, (str, int, float)):
            labels.append((item, None))
        else:
            problems.append(f"emotions: non-string item {_show(item)} dropped")
    out = list(_canonical(labels, _emotion_label,
                          ("emotions: unknown emotion {name} dropped", "emotions: duplicate {name} dropped",
                           "emotions: {name} mapped to {canon}"), problems))
    if len(out) > MAX_EMOTIONS:
        problems.append(f"emotions: {len(out)} given, first {MAX_EMOTIONS} kept")
        out = out[:MAX_EMOTIONS]
    if not out:
        raise _Invalid("emotions: none valid")
    return out


def _emotion_label(item: str | int | float) -> str | None:
    """The common-set label an answer's emotion names, or None."""
    label = str(item).strip().lower()
    return label if label in EMOTIONS else _EMOTION_SYNONYMS.get(label)


def _keys_by_weight(d: dict) -> list:
    """Keys of a {label: weight} dict, heaviest first when the weights are numbers."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d.values()):
        return [k for k, _ in sorted(d.items(), key=lambda kv: -kv[1])]
    return list(d)


def _action_units(value: Any, cat: Catalogue, problems: list[str]) -> list[tuple[int, str]]:
    items = _au_items(value, problems)
    found: list[tuple[int, str]] = []
    for item in items:
        parsed = _au_item(item, cat, problems)
        if parsed is not None:
            found.append(parsed)
    merged: dict[int, str] = {}
    for au, letter in found:
        if au in merged:
            keep = max(letter, merged[au])
            problems.append(f"action_units: duplicate AU{au} merged (kept intensity {keep})")
            merged[au] = keep
        else:
            merged[au] = letter
    kept: dict[int, str] = {}
    for au, letter in merged.items():  # answer order: the first listed wins a tie
        rival = next((o for o in kept if cat.are_incompatible(au, o)), None)
        if rival is None:
            kept[au] = letter
        elif letter > kept[rival]:
            problems.append(f"action_units: AU{rival} and AU{au} cannot co-occur; kept AU{au} "
                            f"(higher intensity)")
            del kept[rival]
            kept[au] = letter
        else:
            problems.append(f"action_units: AU{rival} and AU{au} cannot co-occur; kept AU{rival} "
                            f"({'higher intensity' if kept[rival] > letter else 'listed first'})")
    if len(kept) > MAX_ACTION_UNITS:
        problems.append(f"action_units: {len(kept)} given, strongest {MAX_ACTION_UNITS} kept")
        strongest = sorted(kept.items(), key=lambda kv: kv[1], reverse=True)[:MAX_ACTION_UNITS]
        kept = dict(strongest)
    return sorted(kept.items())


def _au_items(value: Any, problems: list[str]) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        problems.append("action_units: string converted to list")
        return [v for v in _AU_SPLIT.split(value) if v.strip()]
    if isinstance(value, dict):
        if any(k in value for k in ("au", "intensity", "name")):
            problems.append("action_units: single object wrapped in a list")
            return [value]
        problems.append("action_units: object converted to list of {au, intensity}")
        return [{"au": k, "intensity": v} for k, v in value.items()]
    if value is None:
        problems.append("action_units: null converted to empty list")
        return []
    raise _Invalid(f"action_units: expected a list, got {type(value).__name__}")


def _au_item(item: Any, cat: Catalogue, problems: list[str]) -> tuple[int, str] | None:
    letter_in_code = None
    if isinstance(item, dict):
        extra = set(item) - {"au", "intensity"}
        au_value = next((item[k] for k in ("au", "number", "action_unit", "name", "code")
                         if k in item), None)
        intensity = next((item[k] for k in ("intensity", "level", "strength") if k in item), None)
        if extra:
            problems.append(f"action_units: extra keys {_show(sorted(extra))} in {_show(item)} dropped")
    else:
        au_value, intensity = item, None
    au, letter_in_code = _au_number(au_value, cat)
    if au is None:
        problems.append(f"action_units: unknown AU {_show(au_value)} dropped")
        return None
    if au_value != au:
        problems.append(f"action_units: {_show(au_value)} read as AU{au}")
    if intensity is None and letter_in_code is None:
        problems.append(f"action_units: AU{au} has no intensity; set to C")
        return au, "C"
    letter = _intensity(intensity if intensity is not None else letter_in_code)
    if letter is None:
        problems.append(f"action_units: AU{au} intensity {_show(intensity)} invalid; AU dropped")
        return None
    if intensity is not None and letter != intensity:
        problems.append(f"action_units: AU{au} intensity {_show(intensity)} mapped to {letter!r}")
    return au, letter


def _au_number(value: Any, cat: Catalogue) -> tuple[int | None, str | None]:
    """(AU number or None, intensity letter written in a FACS code like "12C" or None)."""
    numbers = set(cat.numbers)
    if isinstance(value, bool):
        return None, None
    if isinstance(value, int):
        return (value if value in numbers else None), None
    if isinstance(value, float) and value.is_integer():
        return (int(value) if int(value) in numbers else None), None
    if not isinstance(value, str):
        return None, None
    code = _AU_CODE.match(value)
    if code:
        n = int(code.group(1))
        return (n if n in numbers else None), (code.group(2).upper() if code.group(2) else None)
    prefixed = _AU_PREFIX.match(value)  # "AU12 Lip Corner Puller", "AU12 (lip corner puller)"
    if prefixed:
        n = int(prefixed.group(1))
        return (n if n in numbers else None), None
    return cat.lookup(re.sub(r"\(.*?\)", "", value)), None


def _intensity(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        v = value.strip()
        if len(v) == 1 and v.upper() in INTENSITY_LETTERS:
            return v.upper()
        if v.lower() in _INTENSITY_WORDS:
            return _INTENSITY_WORDS[v.lower()]
        try:
            value = float(v)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        whole = isinstance(value, int) or value.is_integer()  # an int past any float stays an int
        if whole and 1 <= value <= 5:
            return INTENSITY_LETTERS[int(value) - 1]
        if 0 <= value <= 1:
            return INTENSITY_LETTERS[min(4, int(value * 5))]
    return None


def _description(value: Any, problems: list[str]) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        problems.append("description: list of strings joined")
        value = " ".join(v.strip() for v in value)
    if not isinstance(value, str):
        raise _Invalid(f"description: expected a string, got {type(value).__name__}")
    printable = "".join(ch for ch in value if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs"))
    if printable != value:
        problems.append("description: control characters and lone surrogates removed")
    text = " ".join(printable.split())
    if text != printable:
        problems.append("description: whitespace normalised")
    if not text:
        raise _Invalid("description: empty")
    if len(text) > DESCRIPTION_MAX_CHARS:
        cut = text[:DESCRIPTION_MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;: ") + "…"
        problems.append(f"description: {len(text)} characters cut to {len(cut)}")
        text = cut
    return text
