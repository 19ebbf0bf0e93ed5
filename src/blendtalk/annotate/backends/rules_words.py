"""The word rules of the `rules` annotator: what a sentence's own words say about its face.

Offline, deterministic, no model. Every rule is a row of a table under `resources/lexicon/`,
each with its rationale and source (README.md there describes them):

* `emotion_lexicon.csv`: a word votes for its emotion; `emotion_words.csv` adds graded words and
  the strength (a letter shift) of words on Plutchik's intensity ladders (annoyed < angry <
  furious); `emotion_phrases.csv`: multi-word
  expressions that vote (`don't like` → disgust), matched before single words;
* `negators.csv`: a negator among the 3 tokens before an emotion word (or a facial-action word)
  negates it (VADER's window); `negation_flips.csv` says what a negated emotion becomes
  (`not happy` → a weaker sadness; most others: no vote); `emphatic_negation.csv` lists the
  patterns where a negator emphasises instead (`never been so sad`);
* `intensifiers.csv`: boosters and diminishers shift the intensity letters (`needs_head=yes`:
  only when a content word follows, so `so I left` is no booster);
* `punctuation.csv`: `!`, `!!`, ALL-CAPS shouting, lengthened words (`soooo`) shift the letters;
  `?` adds the conversational brow raise, `!` parted lips;
* `emoji.csv`: an emoji votes for its emotion with its own strength;
* `facial_actions.csv`: words that name a facial action (`smiled`, `gasped`, `rolled my eyes`)
  add its AUs with their letters.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from blendtalk.emotions import EMOTIONS
from blendtalk.facs.catalogue import INTENSITY_LETTERS, load_catalogue
from blendtalk.paths import resource

LEXICON_DIR = resource("resources/lexicon")
LEXICON_CSV = LEXICON_DIR / "emotion_lexicon.csv"
WORDS_CSV = LEXICON_DIR / "emotion_words.csv"
PHRASES_CSV = LEXICON_DIR / "emotion_phrases.csv"
NEGATORS_CSV = LEXICON_DIR / "negators.csv"
FLIPS_CSV = LEXICON_DIR / "negation_flips.csv"
EMPHATIC_CSV = LEXICON_DIR / "emphatic_negation.csv"
INTENSIFIERS_CSV = LEXICON_DIR / "intensifiers.csv"
PUNCTUATION_CSV = LEXICON_DIR / "punctuation.csv"
EMOJI_CSV = LEXICON_DIR / "emoji.csv"
FACIAL_ACTIONS_CSV = LEXICON_DIR / "facial_actions.csv"
#: Every table the word rules read (part of the backend's fingerprint).
WORD_TABLES = (LEXICON_CSV, WORDS_CSV, PHRASES_CSV, NEGATORS_CSV, FLIPS_CSV, EMPHATIC_CSV,
               INTENSIFIERS_CSV, PUNCTUATION_CSV, EMOJI_CSV, FACIAL_ACTIONS_CSV)
NEGATION_WINDOW = 3  # tokens before a word that a negator reaches (Hutto & Gilbert 2014, VADER)
MAX_SHIFT = 2  # the words move the intensity by at most two letters either way
#: Words after which a `needs_head` booster ("so", "really") is not a booster ("so I", "so that").
FUNCTION_WORDS = frozenset(
    "i i'm im i've ive we you he she they it it's its that this the a an and but or if to of in "
    "on at for with is was are were be do did does what when then there here my your our their "
    "his her me us them far on".split())
_TOKEN = re.compile(r"[a-z0-9']+")
_CAPS = re.compile(r"\b[A-Z]{2,}\b")
_RUN = re.compile(r"([a-z])\1{2,}")  # a letter three or more times: "soooo"
_WORD = re.compile(r"[A-Za-z]+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The table's rows; ValueError naming the file when a column or a rationale/source is
    missing."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}")
        rows = list(reader)
    for line, rec in enumerate(rows, start=2):
        for key in ("rationale", "source"):
            if key in columns and not (rec.get(key) or "").strip():
                raise ValueError(f"{path}:{line}: every rule needs a {key}")
    return rows


def _emotion(path: Path, line: int, value: str) -> str:
    if value not in EMOTIONS:
        raise ValueError(f"{path}:{line}: emotion {value!r} not in {EMOTIONS}")
    return value


def parse_aus(path: Path, line: int, spec: str) -> tuple[tuple[int, int], ...]:
    """`"6:C;12:D"` → ((6, 2), (12, 3)); every AU must be in the catalogue."""
    numbers = set(load_catalogue().numbers)
    out = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        au, _, letter = part.partition(":")
        if not au.isdigit() or int(au) not in numbers:
            raise ValueError(f"{path}:{line}: AU {au!r} is not in the catalogue")
        if len(letter) != 1 or letter not in INTENSITY_LETTERS:
            raise ValueError(f"{path}:{line}: AU {au} needs a letter A-E, got {letter!r}")
        out.append((int(au), INTENSITY_LETTERS.index(letter)))
    return tuple(out)


def _phrase_regex(words: str) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9'])" + words + r"(?![a-z0-9'])")


@dataclass(frozen=True)
class WordTables:
    lexicon: dict[str, str]
    strength: dict[str, int]                                   # word → letter shift
    phrases: tuple[tuple[re.Pattern, str, int], ...]           # (pattern, emotion, shift)
    negators: frozenset[str]
    flips: dict[str, tuple[str, int]]                          # emotion → (negated as, shift)
    emphatic: tuple[tuple[re.Pattern, int], ...]
    intensifiers: tuple[tuple[re.Pattern, int, bool], ...]     # (pattern, shift, needs_head)
    punctuation: dict[str, tuple[int, tuple[tuple[int, int], ...]]]
    emoji: dict[str, tuple[str, int]]                          # emoji → (emotion, shift)
    actions: tuple[tuple[re.Pattern, tuple[tuple[int, int], ...], str], ...]


@lru_cache(maxsize=1)
def load_tables() -> WordTables:
    """All word-rule tables, checked: emotions in the label set, AUs in the catalogue, letters
    A–E, every rule with its rationale and source. Errors name the file and line."""
    lexicon = {}
    for line, r in enumerate(_read(LEXICON_CSV, ("word", "emotion")), start=2):
        lexicon[r["word"]] = _emotion(LEXICON_CSV, line, r["emotion"])
    strength = {}
    for line, r in enumerate(_read(WORDS_CSV, ("word", "emotion", "shift", "rationale", "source")),
                             start=2):
        emotion = _emotion(WORDS_CSV, line, r["emotion"])
        if lexicon.setdefault(r["word"], emotion) != emotion:
            raise ValueError(f"{WORDS_CSV}:{line}: {r['word']!r} is {lexicon[r['word']]} in "
                             f"{LEXICON_CSV.name}")
        strength[r["word"]] = int(r["shift"])
    phrases = tuple(
        (_phrase_regex(re.escape(r["pattern"].strip())), _emotion(PHRASES_CSV, line, r["emotion"]),
         int(r["shift"]))
        for line, r in enumerate(_read(PHRASES_CSV, ("pattern", "emotion", "shift", "rationale",
                                                     "source")), start=2))
    negators = frozenset(r["word"].strip() for r in _read(NEGATORS_CSV, ("word", "rationale",
                                                                        "source")))
    flips = {}
    for line, r in enumerate(_read(FLIPS_CSV, ("emotion", "negated_as", "shift", "rationale",
                                               "source")), start=2):
        flips[_emotion(FLIPS_CSV, line, r["emotion"])] = (
            _emotion(FLIPS_CSV, line, r["negated_as"]), int(r["shift"]))
    missing = [e for e in EMOTIONS if e not in flips]
    if missing:
        raise ValueError(f"{FLIPS_CSV}: no row for {missing}")
    emphatic = tuple((_phrase_regex(re.escape(r["pattern"].strip())), int(r["shift"]))
                     for r in _read(EMPHATIC_CSV, ("pattern", "shift", "rationale", "source")))
    intensifiers = tuple(
        (_phrase_regex(re.escape(r["pattern"].strip())), int(r["shift"]),
         r["needs_head"].strip() == "yes")
        for r in sorted(_read(INTENSIFIERS_CSV, ("pattern", "shift", "needs_head", "rationale",
                                                 "source")),
                        key=lambda r: -len(r["pattern"])))  # "so much" before "so"
    punctuation = {}
    for line, r in enumerate(_read(PUNCTUATION_CSV, ("cue", "shift", "aus", "rationale",
                                                     "source")), start=2):
        punctuation[r["cue"]] = (int(r["shift"]), parse_aus(PUNCTUATION_CSV, line, r["aus"]))
    known = {"exclamation", "double_exclamation", "all_caps_word", "question", "elongated_word"}
    if set(punctuation) != known:
        raise ValueError(f"{PUNCTUATION_CSV}: cues must be exactly {sorted(known)}")
    emoji = {}
    for line, r in enumerate(_read(EMOJI_CSV, ("emoji", "name", "emotion", "shift", "rationale",
                                               "source")), start=2):
        emoji[r["emoji"].replace("\ufe0f", "")] = (_emotion(EMOJI_CSV, line, r["emotion"]),
                                                   int(r["shift"]))
    actions = []
    for line, r in enumerate(_read(FACIAL_ACTIONS_CSV, ("pattern", "aus", "rationale", "source")),
                             start=2):
        try:
            pattern = _phrase_regex(r["pattern"].strip())
        except re.error as err:
            raise ValueError(f"{FACIAL_ACTIONS_CSV}:{line}: bad pattern ({err})") from None
        actions.append((pattern, parse_aus(FACIAL_ACTIONS_CSV, line, r["aus"]),
                        r["pattern"].strip()))
    return WordTables(lexicon, strength, phrases, negators, flips, emphatic, intensifiers,
                      punctuation, emoji, tuple(actions))


@dataclass
class WordCues:
    """What the words of one sentence say.

    `votes`: emotion → number of (non-negated) votes; `vote_shift`: emotion → letter shift of its
    strongest cue (a flip's -1, an emoji's +1); `shift`: the sentence's intensity shift in
    [-MAX_SHIFT, MAX_SHIFT]; `actions`: AU → letter index named by facial-action words;
    `question_aus`: the brow raise of a `?`, the parted lips of a `!` (added last, only where
    free); `negated`: the words/patterns whose vote or action was cancelled by a negator."""

    votes: Counter = field(default_factory=Counter)
    vote_shift: dict[str, int] = field(default_factory=dict)
    shift: int = 0
    actions: dict[int, int] = field(default_factory=dict)
    question_aus: dict[int, int] = field(default_factory=dict)
    negated: list[str] = field(default_factory=list)

    def emotions(self) -> list[str]:
        """Voted emotions, most votes first (ties by label order), `neutral` left out."""
        return sorted((e for e in self.votes if e != "neutral"),
                      key=lambda e: (-self.votes[e], EMOTIONS.index(e)))

    def vote(self, emotion: str, shift: int = 0) -> None:
        self.votes[emotion] += 1
        self.vote_shift[emotion] = max(self.vote_shift.get(emotion, shift), shift)


class _Text:
    """Lower-cased tokens with their character spans in the normalised text."""

    def __init__(self, text: str) -> None:
        self.lower = text.translate(_APOSTROPHES).lower()
        matches = list(_TOKEN.finditer(self.lower))
        self.tokens = [m.group() for m in matches]
        self.starts = [m.start() for m in matches]
        self.used = [False] * len(self.tokens)

    def token_at(self, pos: int) -> int:
        """Index of the first token starting at or after character `pos`."""
        for i, start in enumerate(self.starts):
            if start >= pos:
                return i
        return len(self.tokens)

    def span(self, m: re.Match) -> range:
        return range(self.token_at(m.start()), self.token_at(m.end()))


def _is_negator(token: str, negators: frozenset[str]) -> bool:
    return token in negators or token.endswith("n't")


def shouts(text: str) -> bool:
    """ALL-CAPS as shouting: two or more all-capital words (2+ letters), or one that is an emotion
    word or a booster ("I HATE this", "SO happy"); a lone acronym ("NBA", "USA") is not."""
    t = load_tables()
    words = _CAPS.findall(text)
    single = {p.pattern for p, _, _ in t.intensifiers}
    return len(words) >= 2 or any(
        w.lower() in t.lexicon or _phrase_regex(re.escape(w.lower())).pattern in single
        for w in words)


def shortened(word: str, known: Collection[str]) -> str:
    """A lengthened lower-case word as the first of its doubled- or single-letter forms that is in
    `known` ("saaaad" → "sad", "goooood" → "good"), else the single-letter form ("soooo" → "so",
    for the boosters); a word without a run of three letters as it is."""
    candidates = (_RUN.sub(r"\1\1", word), _RUN.sub(r"\1", word))
    return next((c for c in candidates if c in known), candidates[1])


def unlengthened(text: str, known: Collection[str]) -> str:
    """`text` with every lengthened word `shortened` against `known`; a shouted word stays in
    capitals ("SOOOO sad" → "SO sad")."""
    def short(m: re.Match) -> str:
        word = m.group()
        if not _RUN.search(word.lower()):
            return word
        out = shortened(word.lower(), known)
        return out.upper() if word.isupper() else out
    return _WORD.sub(short, text)


def analyse(text: str) -> WordCues:
    """The word rules applied to one sentence (see the module docstring)."""
    t = load_tables()
    doc = _Text(text)
    cues = WordCues()
    shift = 0
    blocked: set[int] = set()  # negators made emphatic ("never been so")
    for pattern, s in t.emphatic:
        for m in pattern.finditer(doc.lower):
            blocked.update(doc.span(m))
            shift += s

    def negated(start: int) -> bool:
        return any(_is_negator(doc.tokens[j], t.negators) and j not in blocked
                   for j in range(max(0, start - NEGATION_WINDOW), start))

    # facial actions first: "cried" is both an action and a sadness word
    for pattern, aus, name in t.actions:
        for m in pattern.finditer(doc.lower):
            span = doc.span(m)
            if not span or any(doc.used[i] for i in span):
                continue
            if negated(span[0]):
                cues.negated.append(m.group())
                continue
            for au, letter in aus:
                cues.actions.setdefault(au, letter)
    for pattern, emotion, s in t.phrases:
        for m in pattern.finditer(doc.lower):
            span = doc.span(m)
            if not span or any(doc.used[i] for i in span):
                continue
            for i in span:
                doc.used[i] = True
            blocked.update(span)  # a phrase carries its own negation ("don't like")
            cues.vote(emotion, s)
    elongated = False
    for i, token in enumerate(doc.tokens):
        if _RUN.search(token):
            elongated = True
            token = doc.tokens[i] = shortened(token, t.lexicon)
        emotion = t.lexicon.get(token)
        if emotion is None or doc.used[i]:
            continue
        doc.used[i] = True
        if negated(i):
            cues.negated.append(token)
            emotion, s = t.flips[emotion]
            if emotion != "neutral":
                cues.vote(emotion, s)
            continue
        cues.vote(emotion, t.strength.get(token, 0))
    boost = 0
    for pattern, s, needs_head in t.intensifiers:
        for m in pattern.finditer(doc.lower):
            span = doc.span(m)
            if not span or any(doc.used[i] for i in span):
                continue
            head = span[-1] + 1
            if needs_head and (head >= len(doc.tokens) or doc.tokens[head] in FUNCTION_WORDS
                               or _is_negator(doc.tokens[head], t.negators)):
                continue
            for i in span:
                doc.used[i] = True
            boost += s
    shift += max(-MAX_SHIFT, min(MAX_SHIFT, boost))
    if "!" in text:
        shift += t.punctuation["exclamation"][0]
    if "!!" in text.replace(" ", ""):
        shift += t.punctuation["double_exclamation"][0]
    if elongated:
        shift += t.punctuation["elongated_word"][0]
    if shouts(text):
        shift += t.punctuation["all_caps_word"][0]
    emoji_shift = 0
    plain = text.replace("\ufe0f", "")
    for symbol, (emotion, s) in t.emoji.items():
        if symbol.isascii():  # an emoticon (":)", "XD") stands apart from letters and digits
            found = re.search(r"(?<![A-Za-z0-9])" + re.escape(symbol) + r"(?![A-Za-z0-9])", plain)
        else:
            found = symbol in plain
        if found:
            cues.vote(emotion, s)
            emoji_shift = max(emoji_shift, s)
    shift += emoji_shift
    marks = [cue for cue, mark in (("question", "?"), ("exclamation", "!")) if mark in text]
    for cue in marks:
        for au, letter in t.punctuation[cue][1]:
            cues.question_aus.setdefault(au, letter)
    cues.shift = max(-MAX_SHIFT, min(MAX_SHIFT, shift))
    return cues
