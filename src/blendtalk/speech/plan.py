"""The speech corpus plan: which corpus sentences are spoken, in which styles, by which voice.

Per split, sentences are taken round-robin across emotions, each emotion's in the order of a
hash of (seed, text_id), so the sample is reproducible and adding corpus rows never reshuffles
it. Each sentence is spoken in `styles_per_sentence` styles: first a style of its own emotion,
then styles of other emotions, so the lips must come from the audio and the face from the style.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from blendtalk.ids import SPLITS, seeded_rank
from blendtalk.seeding import rng

PLAN_COLUMNS = ["utt_id", "text_id", "text", "style_id", "style", "emotion", "intensity", "voice",
                "split", "sentence_emotion"]


def utt_id(text_id: str, style: str, voice: str) -> str:
    """First 16 hex digits of SHA-1 of (text_id, style text, voice): stable like text_id."""
    return hashlib.sha1("\x1e".join((text_id, style, voice)).encode("utf-8")).hexdigest()[:16]


def sample_sentences(corpus: pd.DataFrame, per_split: Mapping[str, int], max_words: int,
                     seed: int) -> pd.DataFrame:
    """Up to `per_split[split]` corpus rows per split with at most `max_words` words, taken
    round-robin over the emotions (alphabetical), each emotion's rows by seeded rank."""
    words = corpus["text"].str.split().str.len()
    pool = corpus.loc[words <= max_words].drop_duplicates("text_id")
    pool = pool.assign(_rank=seeded_rank(pool["text_id"], f"speech-{seed}")).sort_values("_rank")
    chosen = []
    for split in SPLITS:
        rows = pool[pool["split"] == split]
        # position within the emotion, then emotion order: round-robin across emotions
        rows = rows.assign(_turn=rows.groupby("emotion").cumcount())
        chosen.append(rows.sort_values(["_turn", "emotion"]).head(int(per_split.get(split, 0))))
    return pd.concat(chosen, ignore_index=True).drop(columns=["_rank", "_turn"])


def plan_utterances(corpus: pd.DataFrame, styles: pd.DataFrame, per_split: Mapping[str, int],
                    max_words: int, styles_per_sentence: int, voices: Sequence[str], seed: int
                    ) -> pd.DataFrame:
    """One row per utterance (`PLAN_COLUMNS`), sorted by `utt_id`.

    The own-emotion style is the strong one when the corpus intensity is at least 0.5 (else
    drawn); other styles are drawn from distinct other emotions; the voice is drawn per
    (text_id, style). Raises ValueError when the style table cannot give enough distinct
    emotions.
    """
    if styles["emotion"].nunique() < styles_per_sentence:
        raise ValueError(f"styles_per_sentence={styles_per_sentence} needs styles of at least that "
                         f"many emotions; the style table has {styles['emotion'].nunique()}")
    by_emotion = {e: g.sort_values("intensity") for e, g in styles.groupby("emotion")}
    emotions = sorted(by_emotion)
    records = []
    for row in sample_sentences(corpus, per_split, max_words, seed).itertuples(index=False):
        own = row.emotion if row.emotion in by_emotion else "neutral"
        others = [e for e in emotions if e != own]
        order = rng(seed, "speech.plan", row.text_id, "emotions").permutation(len(others))
        others = [others[i] for i in order]
        for k, emotion in enumerate([own, *others[:styles_per_sentence - 1]]):
            candidates = by_emotion[emotion]
            intensity = getattr(row, "intensity", None)
            if k == 0 and intensity is not None and not pd.isna(intensity):
                style = candidates.iloc[-1] if intensity >= 0.5 else candidates.iloc[0]
            else:
                draw = rng(seed, "speech.plan", row.text_id, "style", emotion)
                style = candidates.iloc[int(draw.integers(len(candidates)))]
            draw = rng(seed, "speech.plan", row.text_id, "voice", str(style["style_id"]))
            voice = voices[int(draw.integers(len(voices)))]
            records.append({
                "utt_id": utt_id(row.text_id, style["text"], voice), "text_id": row.text_id,
                "text": row.text, "style_id": style["style_id"], "style": style["text"],
                "emotion": emotion, "intensity": float(style["intensity"]), "voice": voice,
                "split": row.split, "sentence_emotion": row.emotion})
    plan = pd.DataFrame.from_records(records, columns=PLAN_COLUMNS)
    return plan.sort_values("utt_id", kind="stable").reset_index(drop=True)


def video_sample(plan: pd.DataFrame, n: int, seed: int) -> list[str]:
    """The `n` test-split utterances rendered as videos, first by a hash of (seed, utt_id)."""
    test = plan[plan["split"] == "test"]
    order = np.argsort(seeded_rank(test["utt_id"], f"speech-videos-{seed}"), kind="stable")
    return test["utt_id"].to_numpy()[order][:n].tolist()
