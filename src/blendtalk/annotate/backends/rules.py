"""The `rules` backend: a deterministic FACS annotator built from published emotion prototypes
and word rules.

Not an LLM. Its model name is `RULES_MODEL`; its answers are JSON text that goes through the same
parse/validate path as a model's. Per row (the word rules are in `rules_words`, every one a row of
a table under `resources/lexicon/` with its rationale and source):

* emotions: the corpus labels, then the emotions the words vote for (lexicon words and phrases not
  negated, emoji, negation flips such as `not happy` → sadness); for an unlabelled row the word
  votes alone, or `neutral` when none;
* intensity: the corpus intensity in [0, 1] binned to A–E; without one, C for a corpus label and B
  for a word guess; then shifted by the words (boosters/diminishers, `!`, `!!`, ALL-CAPS words,
  elongated words, emoji, emphatic negation) and the emotion's own words (their strength, and one
  letter more for two or more of them): at most ±2 letters, ±1 when the corpus gave an intensity
  (it already reflects the wording); the place within the letter (the corpus intensity's, else
  for a valenced emotion the sentence's VADER sentiment strength) grades the face: a prototype's
  later AUs lag one letter while that place is below `RECRUITMENT_LAG` per rank;
* action units, in order of precedence (an AU already chosen, or one the catalogue scores as
  incompatible with a chosen one, is skipped): the AUs of facial-action words (`smiled` → 6+12,
  `gasped` → 1+2+5+26; their letters shifted with the sentence); the primary emotion's prototype
  (`resources/facs/emotion_prototypes.csv`, variant chosen by the text_id hash) at that intensity
  plus per-AU offsets, then the displays of the row's fine-grained corpus labels that belong to
  the emotion (`resources/facs/label_displays.csv`: GoEmotions' `amusement` adds laughter's
  parted lips and dropped jaw to joy's smile, `grief` makes sadness one letter stronger,
  `confusion` lowers the brows; each with its source); the second (and third) emotion's prototype one (two) letter(s) weaker (the
  blend: the union of the prototypes' AUs); the punctuation AUs (a question's brow raise, an
  exclamation's parted lips) where free. A `neutral` label keeps the face
  blank unless the words name an action or an emotion (shown one letter weaker still);
* description: phrases per AU (`resources/facs/au_phrases.csv`) with intensity adverbs, phrasing and
  order seeded by text_id, plus the prototype's note (e.g. contempt's one-sidedness).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from blendtalk.annotate.backends import rules_words
from blendtalk.annotate.backends.base import Answer, Row
from blendtalk.annotate.backends.rules_words import WORD_TABLES, analyse, load_tables
from blendtalk.annotate.prompt import DESCRIPTION_MAX_CHARS, MAX_ACTION_UNITS, MAX_EMOTIONS
from blendtalk.paths import resource
from blendtalk.emotions import EMOTIONS
from blendtalk.facs.catalogue import INTENSITY_LETTERS, load_catalogue
from blendtalk.ids import short_hash

RULES_MODEL = "blendtalk-rules-v1"
#: Version of the rules themselves (2: word rules; 3: label displays); part of the fingerprint, so cached answers of
#: an older version are never reused. `RULES_MODEL` keeps its name for the tables' `model` column.
RULES_VERSION = 3
MAX_FACES = 3  # emotions whose prototypes are blended: primary, secondary, tertiary
RECRUITMENT_LAG = 0.2  # letters per prototype rank, see `_recruitment_lag`
UNVALENCED = ("surprise",)  # emotions whose strength VADER's valence cannot grade
PROTOTYPES_CSV = resource("resources/facs/emotion_prototypes.csv")
DISPLAYS_CSV = resource("resources/facs/label_displays.csv")
PHRASES_CSV = resource("resources/facs/au_phrases.csv")
LEXICON_CSV = rules_words.LEXICON_CSV
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


@dataclass(frozen=True)
class Prototype:
    emotion: str
    variant: int
    aus: tuple[tuple[int, int], ...]  # (AU, intensity offset in letters)
    note: str
    source: str


@dataclass(frozen=True)
class Display:
    """What a fine-grained corpus label adds to its emotion's prototype: a shift of the
    emotion's letter and AUs of its own (offsets relative to that letter)."""

    label: str
    emotion: str
    shift: int
    aus: tuple[tuple[int, int], ...]
    note: str
    source: str


def _parse_aus(text: str, where: str) -> tuple[tuple[int, int], ...]:
    """`"6;12;25:-1"` → ((6, 0), (12, 0), (25, -1)): AUs with letter offsets, each in the catalogue."""
    numbers = set(load_catalogue().numbers)
    aus = []
    for part in filter(None, text.split(";")):
        au, _, offset = part.partition(":")
        if int(au) not in numbers:
            raise ValueError(f"{where}: AU {au} is not in the catalogue")
        aus.append((int(au), int(offset or 0)))
    return tuple(aus)


def _cited_records(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(where, record) per row of an authored CSV whose every row must cite its `source`."""
    with open(path, encoding="utf-8", newline="") as fh:
        for line, rec in enumerate(csv.DictReader(fh), start=2):
            where = f"{path}:{line}"
            if rec["emotion"] not in EMOTIONS:
                raise ValueError(f"{where}: emotion {rec['emotion']!r} not in {EMOTIONS}")
            if not rec["source"].strip():
                raise ValueError(f"{where}: every row must cite its source")
            yield where, rec


@lru_cache(maxsize=1)
def load_prototypes(path: Path = PROTOTYPES_CSV) -> dict[str, tuple[Prototype, ...]]:
    """Prototypes per emotion; checks every emotion of the label set has one and every AU is in
    the catalogue. Errors name the file and line."""
    out: dict[str, list[Prototype]] = {}
    for where, rec in _cited_records(path):
        out.setdefault(rec["emotion"], []).append(
            Prototype(rec["emotion"], int(rec["variant"]), _parse_aus(rec["aus"], where),
                      rec["note"].strip(), rec["source"].strip()))
    missing = [e for e in EMOTIONS if e not in out]
    if missing:
        raise ValueError(f"{path}: no prototype for {missing}")
    return {e: tuple(v) for e, v in out.items()}


@lru_cache(maxsize=1)
def load_displays(path: Path = DISPLAYS_CSV) -> dict[str, Display]:
    """Displays per fine-grained corpus label (GoEmotions' `amusement`, `grief`, ...). Errors
    name the file and line."""
    out: dict[str, Display] = {}
    for where, rec in _cited_records(path):
        label = rec["label"].strip()
        if label in out:
            raise ValueError(f"{where}: label {label!r} has a display already")
        shift = int(rec["shift"] or 0)
        if abs(shift) > 1:
            raise ValueError(f"{where}: shift must be -1, 0 or 1 letters, got {shift}")
        out[label] = Display(label, rec["emotion"], shift, _parse_aus(rec["aus"], where),
                             rec["note"].strip(), rec["source"].strip())
    return out


@lru_cache(maxsize=1)
def load_phrases(path: Path = PHRASES_CSV) -> dict[int, tuple[str, ...]]:
    with open(path, encoding="utf-8", newline="") as fh:
        phrases = {int(r["au"]): tuple(p.strip() for p in r["phrases"].split(";"))
                   for r in csv.DictReader(fh)}
    missing = set(load_catalogue().numbers) - set(phrases)
    if missing:
        raise ValueError(f"{path}: no phrases for AUs {sorted(missing)}")
    return phrases


def load_lexicon(path: Path = LEXICON_CSV) -> dict[str, str]:
    """The authored word → emotion lexicon (checked by `rules_words.load_tables`)."""
    if Path(path) != LEXICON_CSV:
        with open(path, encoding="utf-8", newline="") as fh:
            lexicon = {r["word"]: r["emotion"] for r in csv.DictReader(fh)}
        bad = {w: e for w, e in lexicon.items() if e not in EMOTIONS}
        if bad:
            raise ValueError(f"{path}: emotions not in the label set: {bad}")
        return lexicon
    return load_tables().lexicon


def lexicon_emotions(text: str) -> list[str]:
    """Emotions voted for by the words of `text` (lexicon words and phrases, negation applied,
    emoji), most votes first (ties by label order)."""
    return analyse(text).emotions()


def base_intensity(row: Row, labelled: bool, shift: int = 0) -> int:
    """Index into INTENSITY_LETTERS of the primary emotion's strength: the corpus intensity binned
    (words shift it by at most one letter), else C for a label and B for a word guess (words shift
    it by at most two)."""
    if row.intensity is not None:
        base, limit = min(4, max(0, int(row.intensity * 5))), 1
    else:
        base, limit = (2 if labelled else 1), rules_words.MAX_SHIFT
    return _clamp(base + max(-limit, min(limit, shift)))


def within_letter(row: Row, emotion: str) -> float | None:
    """Where in its letter the emotion's strength lies, in [0, 1): the corpus intensity's place
    in its A–E bin; without one, for a valenced emotion, the magnitude of the sentence's VADER
    compound sentiment (Hutto & Gilbert 2014: human-rated word valences with VADER's own booster,
    negation, capitals and `!` rules), so that two sentences of one emotion and letter still
    differ by how strongly they are worded. None for surprise (VADER measures valence, which says
    nothing about how surprised a sentence is). The letter itself comes from `base_intensity`:
    VADER does not move it, as the word rules already do and would count twice."""
    if row.intensity is not None:
        level = min(4.999, max(0.0, row.intensity * 5))
        return level - int(level)
    if emotion in UNVALENCED:
        return None
    return min(0.999, abs(_sentiment(row.text)))


@lru_cache(maxsize=4096)  # one sentence's faces (up to MAX_FACES) ask for it in turn
def _sentiment(text: str) -> float:
    """VADER's compound sentiment of `text`, in [-1, 1], its lengthened words shortened first
    (VADER's lexicon has `sad`, not `saaaad`; the lengthening counts in the word rules)."""
    vader = _vader()
    return vader.polarity_scores(rules_words.unlengthened(text, vader.lexicon))["compound"]


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


def _recruitment_lag(position: float | None, k: int) -> int:
    """0 or 1: the prototype's later AUs (file order: core first) reach the letter only in the
    upper part of it (`position` from `within_letter`), lagging RECRUITMENT_LAG letters per rank
    (at most four ranks), so strengths within one letter still give graded faces."""
    return int(position is not None and position < RECRUITMENT_LAG * min(k, 4))


def displays_of(row: Row, emotion: str) -> list[Display]:
    """The displays of the row's fine-grained corpus labels that belong to `emotion`."""
    table = load_displays()
    return [table[lab] for lab in dict.fromkeys(row.source_labels)
            if lab in table and table[lab].emotion == emotion]


def _clamp(i: int) -> int:
    return min(4, max(0, i))


def _rng(row: Row, salt: str) -> random.Random:
    return random.Random(int(hashlib.sha1(f"{salt}:{row.text_id}".encode()).hexdigest()[:16], 16))


def annotate_row(row: Row) -> dict[str, Any]:
    """The rules annotator's answer for one row, as the schema's JSON object."""
    labels = list(dict.fromkeys(e for e in row.emotions if e in EMOTIONS))
    cues = analyse(row.text)
    words = cues.emotions()
    feeling = [e for e in labels if e != "neutral"]
    if feeling:
        emotions = feeling + [e for e in words if e not in feeling]
    elif labels:  # labelled neutral: the face stays blank unless the words say otherwise
        emotions = ["neutral"] + words
    else:
        emotions = words or ["neutral"]
    emotions = emotions[:MAX_EMOTIONS]
    cat = load_catalogue()
    chosen: dict[int, int] = {}

    def add(au: int, level: int) -> bool:
        if (au in chosen or len(chosen) == MAX_ACTION_UNITS  # the schema's limit, by precedence
                or any(cat.are_incompatible(au, other) for other in chosen)):
            return False
        chosen[au] = _clamp(level)
        return True

    word_shift = max(-1, min(1, cues.shift)) if row.intensity is not None else cues.shift
    for au, letter in cues.actions.items():  # the words name the action: it comes first
        add(au, letter + word_shift)
    notes: list[str] = []
    faces = [e for e in emotions if e != "neutral"][:MAX_FACES]
    for rank, emotion in enumerate(faces):
        variants = load_prototypes()[emotion]
        proto = variants[_rng(row, "variant-" + emotion).randrange(len(variants))]
        # the emotion's own words add their strength (furious > angry > annoyed)
        # and two or more words for it one letter more (VADER sums the words' intensities)
        own = cues.vote_shift.get(emotion, 0) + (cues.votes[emotion] >= 2)
        displays = displays_of(row, emotion)
        label_shift = sum(d.shift for d in displays)
        base = base_intensity(row, bool(feeling), cues.shift + own + label_shift)
        # each later emotion (and a word emotion under a neutral label) is one letter weaker
        weaker = rank + (emotions[0] == "neutral")
        position = within_letter(row, emotion)
        for k, (au, offset) in enumerate(proto.aus):
            add(au, base + offset - weaker - _recruitment_lag(position, k))
        for display in displays:  # after the prototype's AUs, which keep precedence
            for au, offset in display.aus:
                add(au, base + offset - weaker)
        if rank == 0 and emotions[0] != "neutral":
            notes += [n for n in (proto.note, *(d.note for d in displays)) if n]
    for au, letter in cues.question_aus.items():
        add(au, letter)
    action_units = [{"au": au, "intensity": INTENSITY_LETTERS[i]} for au, i in sorted(chosen.items())]
    shown = next((e for e in emotions if e != "neutral"), "neutral")
    return {"emotions": emotions, "action_units": action_units,
            "description": describe(row, shown, chosen, notes)}


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
        if emotion == "neutral":  # a face from the words alone, without an emotion to name
            template = "The face shows {parts}."
        text = template.format(Emotion=emotion.capitalize(), emotion=emotion, Parts=joined[0].upper()
                               + joined[1:], parts=joined, adjective=_ADJECTIVES[emotion])
        if len(text) <= DESCRIPTION_MAX_CHARS:
            return text
    return text[:DESCRIPTION_MAX_CHARS]


def fingerprint() -> str:
    """Hash of the annotator's resources, part of the answer cache key."""
    parts = [RULES_MODEL, str(RULES_VERSION)] + [
        p.read_text(encoding="utf-8")
        for p in (PROTOTYPES_CSV, DISPLAYS_CSV, PHRASES_CSV, *WORD_TABLES,
                  load_catalogue().source)]
    parts += [Path(f).read_text(encoding="utf-8") for f in (__file__, rules_words.__file__)]
    return short_hash(parts)


class RulesBackend:
    """Deterministic FACS-prototype annotator (not an LLM); `seed` does not change its answers."""

    name = "rules"
    model = RULES_MODEL

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        # fail early on bad resources
        load_prototypes(), load_displays(), load_phrases(), load_tables()
        self.fingerprint = fingerprint()

    def annotate(self, rows: Sequence[Row], seed: int) -> list[Answer]:
        return [Answer(raw=json.dumps(annotate_row(r), ensure_ascii=False)) for r in rows]
