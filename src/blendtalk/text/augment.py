"""Seeded EDA-style text augmentation: WordNet synonym replacement, random swap, random deletion.

Each operation acts per word with its probability (defaults 0.1 each, EDA's α = 0.1). WordNet 3.0
comes from Debian's `wordnet-base` (/usr/share/wordnet) read with NLTK's `WordNetCorpusReader`;
that package lacks the `lexnames` file NLTK wants and NLTK refuses files outside its root, so the
database is copied once, with a generated `lexnames`, into a cache directory. Empty and one-word
strings are returned unchanged where an operation needs more words; nothing here raises on them.
"""

from __future__ import annotations

import functools
import re
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blendtalk import seeding
from blendtalk.io import atomic_dir
from blendtalk.paths import cache_root

WORDNET_DIRS = (Path("/usr/share/wordnet"), Path("/usr/share/wordnet-3.0"))
_WN_FILES = [f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")] \
    + [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")]
# The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)), in number order.
_LEXNAMES = ("adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
             "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food "
             "noun.group noun.location noun.motive noun.object noun.person noun.phenomenon "
             "noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape "
             "noun.state noun.substance noun.time verb.body verb.change verb.cognition "
             "verb.communication verb.competition verb.consumption verb.contact verb.creation "
             "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative "
             "verb.weather adj.ppl").split()
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
STOPWORDS = frozenset(
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she "
    "her hers herself it its itself they them their theirs themselves what which who whom this that "
    "these those am is are was were be been being have has had having do does did doing a an the and "
    "but if or because as until while of at by for with about against between into through during "
    "before after above below to from up down in out on off over under again further then once here "
    "there when where why how all any both each few more most other some such no nor not only own "
    "same so than too very s t can will just don should now".split())
_WORD = re.compile(r"^[A-Za-z][A-Za-z'-]*$")


def _cache_dir() -> Path:
    return cache_root() / "wordnet-3.0"


def _copy_wordnet(src: Path, dst: Path) -> None:
    """Copy the WordNet database files from `src` into the directory `dst` (replaced as a whole,
    atomically), adding the generated `lexnames` file."""
    with atomic_dir(dst) as tmp:
        for name in _WN_FILES:
            shutil.copyfile(src / name, tmp / name)
        (tmp / "lexnames").write_text("".join(
            f"{i:02d}\t{n}\t{_SYNTACTIC_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(_LEXNAMES)),
            encoding="utf-8")


@functools.lru_cache(maxsize=1)
def wordnet():
    """NLTK's WordNetCorpusReader over the Debian WordNet 3.0 database (copied once to a cache)."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    src = next((d for d in WORDNET_DIRS if (d / "data.noun").is_file()), None)
    if src is None:
        raise RuntimeError("WordNet 3.0 is not installed (apt-get install wordnet-base); it is needed "
                           "for synonym replacement (set augment.p_synonym: 0 to do without)")
    dst = _cache_dir()
    if not (dst / "lexnames").is_file():
        try:
            _copy_wordnet(src, dst)
        except OSError:
            if not (dst / "lexnames").is_file():  # else another process finished first
                raise
    if str(dst) not in nltk.data.path:
        nltk.data.path.append(str(dst))
    class WordNet30Reader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            """This database is WordNet 3.0 itself: no sense mapping (only used by OMW)."""
            return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": not used
        return WordNet30Reader(str(dst), None)


@functools.lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """WordNet synonyms of `word` (lower-cased, multi-word lemmas with spaces), excluding itself."""
    lower = word.lower()
    found: dict[str, None] = {}
    for synset in wordnet().synsets(lower):
        for lemma in synset.lemmas():
            name = lemma.name().replace("_", " ").lower()
            if name != lower and name.isascii():
                found[name] = None
    return tuple(found)


def synonym_replacement(words: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Replace each non-stopword alphabetic word, with probability `p`, by a random WordNet synonym."""
    out = []
    for w in words:
        if p > 0 and _WORD.match(w) and w.lower() not in STOPWORDS and rng.random() < p:
            syns = synonyms(w)
            out.append(syns[rng.integers(len(syns))] if syns else w)
        else:
            out.append(w)
    return out


def random_swap(words: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Swap each position, with probability `p`, with another random position (needs 2 words)."""
    out = list(words)
    if len(out) < 2:
        return out
    for i in range(len(out)):
        if rng.random() < p:
            j = int(rng.integers(len(out) - 1))
            j += j >= i
            out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Delete each word with probability `p`, keeping one random word if all would go."""
    if len(words) < 2:
        return list(words)
    keep = [w for w in words if rng.random() >= p]
    return keep or [words[int(rng.integers(len(words)))]]


def augment(text: str, rng: np.random.Generator, p_synonym: float = 0.1, p_swap: float = 0.1,
            p_delete: float = 0.1) -> str:
    """One augmented variant of `text`: synonym replacement, then random swap, then deletion."""
    words = text.split()
    words = synonym_replacement(words, p_synonym, rng)
    words = random_swap(words, p_swap, rng)
    words = random_deletion(words, p_delete, rng)
    return " ".join(words)


def augmented_variants(texts: Sequence[str], n: int, seed: int, p_synonym: float = 0.1,
                       p_swap: float = 0.1, p_delete: float = 0.1) -> list[list[str]]:
    """`n` variants of each text. Each text's generator is seeded from `seed` and the text itself
    (`seeding.rng(seed, text)`), so a text gets the same variants whatever else is in the list
    and in whatever order."""
    out = []
    for text in texts:
        generator = seeding.rng(seed, text)
        out.append([augment(text, generator, p_synonym, p_swap, p_delete) for _ in range(n)])
    return out
