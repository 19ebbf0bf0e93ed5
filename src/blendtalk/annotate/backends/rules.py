"""The `rules` backend: a deterministic FACS annotator built from published emotion prototypes.

Not an LLM. Its model name is `RULES_MODEL`; its answers are JSON text that goes through the same
parse/validate path as a model's. Per row:

* emotions: the corpus labels; for an unlabelled row, the votes of the authored lexicon
  (`resources/lexicon/emotion_lexicon.csv`), or `neutral` when no word votes;
* intensity: the corpus intensity in [0, 1] binned to A–E; without one, C for a corpus label and B
  for a lexicon guess, one letter more when the sentence shouts (`!` or an all-caps word);
* action units: the primary emotion's prototype (`resources/facs/emotion_prototypes.csv`, variant
  chosen by the text_id hash) at that intensity plus per-AU offsets; the second emotion's prototype
  one letter weaker (at most 3 of its AUs), skipping AUs that clash with those already chosen;
* description: phrases per AU (`resources/facs/au_phrases.csv`) with intensity adverbs, phrasing and
  order seeded by text_id, plus the prototype's note (e.g. contempt's one-sidedness).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from blendtalk.annotate.backends.base import Answer, Row
from blendtalk.annotate.prompt import DESCRIPTION_MAX_CHARS, MAX_EMOTIONS
from blendtalk.paths import resource
from blendtalk.emotions import EMOTIONS
from blendtalk.facs.catalogue import INTENSITY_LETTERS, load_catalogue
from blendtalk.ids import short_hash

RULES_MODEL = "blendtalk-rules-v1"
MAX_SECONDARY_AUS = 3  # the second emotion tints the face; it does not double the description
PROTOTYPES_CSV = resource("resources/facs/emotion_prototypes.csv")
PHRASES_CSV = resource("resources/facs/au_phrases.csv")
LEXICON_CSV = resource("resources/lexicon/emotion_lexicon.csv")
_ADVERBS = {"A": ("faintly", "barely"), "B": ("slightly", "lightly"),
            "C": ("clearly", "visibly"), "D": ("strongly", "markedly"),
            "E": ("intensely", "fully")}
_OPENINGS = ("{Emotion} shows in the face: {parts}.", "A face of {emotion}, with {parts}.",
             "The speaker looks {adjective}: {parts}.", "{Parts}, a look of {emotion}.")
_ADJECTIVES = {"anger": "angry", "contempt": "contemptuous", "disgust": "disgusted",
               "fear": "afraid", "joy": "happy", "sadness": "sad", "surprise": "surprised",
               "shame": "ashamed", "guilt": "guilty", "neutral": "calm"}
_NEUTRAL = ("A relaxed, neutral face with no visible muscle activity.",
            "The face stays neutral and relaxed, without visible muscle action.",
            "A calm, expressionless face at rest.")
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Prototype:
    emotion: str
    variant: int
    aus: tuple[tuple[int, int], ...]  # (AU, intensity offset in letters)
    note: str
    source: str


@lru_cache(maxsize=1)
def load_prototypes(path: Path = PROTOTYPES_CSV) -> dict[str, tuple[Prototype, ...]]:
    """Prototypes per emotion; checks every emotion of the label set has one and every AU is in
    the catalogue. Errors name the file and line."""
    numbers = set(load_catalogue().numbers)
    out: dict[str, list[Prototype]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for line, rec in enumerate(csv.DictReader(fh), start=2):
            if rec["emotion"] not in EMOTIONS:
                raise ValueError(f"{path}:{line}: emotion {rec['emotion']!r} not in {EMOTIONS}")
            aus = []
            for part in filter(None, rec["aus"].split(";")):
                au, _, offset = part.partition(":")
                if int(au) not in numbers:
                    raise ValueError(f"{path}:{line}: AU {au} is not in the catalogue")
                aus.append((int(au), int(offset or 0)))
            if not rec["source"].strip():
                raise ValueError(f"{path}:{line}: every prototype must cite its source")
            out.setdefault(rec["emotion"], []).append(
                Prototype(rec["emotion"], int(rec["variant"]), tuple(aus), rec["note"].strip(),
                          rec["source"].strip()))
    missing = [e for e in EMOTIONS if e not in out]
    if missing:
        raise ValueError(f"{path}: no prototype for {missing}")
    return {e: tuple(v) for e, v in out.items()}


@lru_cache(maxsize=1)
def load_phrases(path: Path = PHRASES_CSV) -> dict[int, tuple[str, ...]]:
    with open(path, encoding="utf-8", newline="") as fh:
        phrases = {int(r["au"]): tuple(p.strip() for p in r["phrases"].split(";"))
                   for r in csv.DictReader(fh)}
    missing = set(load_catalogue().numbers) - set(phrases)
    if missing:
        raise ValueError(f"{path}: no phrases for AUs {sorted(missing)}")
    return phrases


@lru_cache(maxsize=1)
def load_lexicon(path: Path = LEXICON_CSV) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        lexicon = {r["word"]: r["emotion"] for r in csv.DictReader(fh)}
    bad = {w: e for w, e in lexicon.items() if e not in EMOTIONS}
    if bad:
        raise ValueError(f"{path}: emotions not in the label set: {bad}")
    return lexicon


def lexicon_emotions(text: str) -> list[str]:
    """Emotions voted for by the lexicon words in `text`, most votes first (ties by label order)."""
    lexicon = load_lexicon()
    votes = Counter(lexicon[w] for w in _WORD.findall(text.lower()) if w in lexicon)
    return sorted(votes, key=lambda e: (-votes[e], EMOTIONS.index(e)))


def base_intensity(row: Row, labelled: bool) -> int:
    """Index into INTENSITY_LETTERS of the primary emotion's strength."""
    if row.intensity is not None:
        return min(4, max(0, int(row.intensity * 5)))
    shouts = "!" in row.text or any(len(w) > 1 and w.isupper() for w in row.text.split())
    return (2 if labelled else 1) + int(shouts)


def _rng(row: Row, salt: str) -> random.Random:
    return random.Random(int(hashlib.sha1(f"{salt}:{row.text_id}".encode()).hexdigest()[:16], 16))


def annotate_row(row: Row) -> dict[str, Any]:
    """The rules annotator's answer for one row, as the schema's JSON object."""
    labelled = bool([e for e in row.emotions if e in EMOTIONS])
    emotions = [e for e in row.emotions if e in EMOTIONS] or lexicon_emotions(row.text) or ["neutral"]
    emotions = list(dict.fromkeys(emotions))[:MAX_EMOTIONS]
    cat = load_catalogue()
    base = base_intensity(row, labelled)
    chosen: dict[int, int] = {}
    notes: list[str] = []
    for rank, emotion in enumerate(emotions[:2]):
        variants = load_prototypes()[emotion]
        proto = variants[_rng(row, "variant-" + emotion).randrange(len(variants))]
        added = 0
        for au, offset in proto.aus:
            if rank and added == MAX_SECONDARY_AUS:
                break
            if au in chosen or any(cat.are_incompatible(au, other) for other in chosen):
                continue
            chosen[au] = min(4, max(0, base + offset - rank))
            added += 1
        if proto.note and rank == 0:
            notes.append(proto.note)
    action_units = [{"au": au, "intensity": INTENSITY_LETTERS[i]} for au, i in sorted(chosen.items())]
    return {"emotions": emotions, "action_units": action_units,
            "description": describe(row, emotions[0], chosen, notes)}


def describe(row: Row, emotion: str, chosen: dict[int, int], notes: list[str]) -> str:
    """One sentence naming every chosen AU with an intensity adverb, phrasing seeded by text_id."""
    rng = _rng(row, "describe")
    if not chosen:
        return rng.choice(_NEUTRAL)
    phrases = load_phrases()
    order = sorted(chosen, key=lambda au: (-chosen[au], au))  # strongest first
    parts = []
    for au in order:  # "{}" in a phrase marks where the intensity adverb goes
        letter = INTENSITY_LETTERS[chosen[au]]
        adverb = "" if letter == "C" and rng.random() < 0.5 else rng.choice(_ADVERBS[letter]) + " "
        parts.append(rng.choice(phrases[au]).format(adverb))
    template = rng.choice(_OPENINGS)
    for n in range(len(parts), 0, -1):  # drop the weakest parts if the sentence is too long
        listed = parts[:n]
        joined = listed[0] if n == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
        if notes:
            joined += ", " + notes[0]
        text = template.format(Emotion=emotion.capitalize(), emotion=emotion, Parts=joined[0].upper()
                               + joined[1:], parts=joined, adjective=_ADJECTIVES[emotion])
        if len(text) <= DESCRIPTION_MAX_CHARS:
            return text
    return text[:DESCRIPTION_MAX_CHARS]


def fingerprint() -> str:
    """Hash of the annotator's resources, part of the answer cache key."""
    parts = [RULES_MODEL] + [p.read_text(encoding="utf-8") for p in
                             (PROTOTYPES_CSV, PHRASES_CSV, LEXICON_CSV, load_catalogue().source)]
    parts.append(Path(__file__).read_text(encoding="utf-8"))
    return short_hash(parts)


class RulesBackend:
    """Deterministic FACS-prototype annotator (not an LLM); `seed` does not change its answers."""

    name = "rules"
    model = RULES_MODEL

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        load_prototypes(), load_phrases(), load_lexicon()  # fail early on bad resources
        self.fingerprint = fingerprint()

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        return [Answer(raw=json.dumps(annotate_row(r), ensure_ascii=False)) for r in rows]
