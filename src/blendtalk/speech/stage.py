"""The speech stage's steps over one utterance or the whole plan, shared by the workflow scripts
and the `blendtalk say` / `blendtalk animate` commands.

Audio is 16 kHz mono float32, times are seconds, animations `(T, 52)` float32 in [0, 1] at
30 fps with T = ceil(30 × duration).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.seeding import rng
from blendtalk.speech.audio import SAMPLE_RATE, load_audio, prosody
from blendtalk.speech.phones import SIL, phone_table
from blendtalk.speech.styles import prosody_of
from blendtalk.speech.tts import Synthesis, get_voice

FPS = 30


def synthesize(text: str, voice: str, style: pd.Series | None = None) -> Synthesis:
    """Speak `text` with `voice` (`backend:variant`) in the prosody of a style-table row
    (None: the voice's own)."""
    spoken = get_voice(voice)
    if style is None:
        return spoken.synthesize(text)
    p = prosody_of(style)
    return spoken.synthesize(text, rate=p.rate, pitch=p.pitch, volume=p.volume)


def prototype_expressions(emotions: Sequence[str], mapping, scale: Mapping[str, float]
                          ) -> np.ndarray:
    """`(N, 52)`: each emotion's first EMFACS prototype (resources/facs/emotion_prototypes.csv)
    at intensity C shifted by the prototype's per-AU offset, through the AU → ARKit mapping."""
    from blendtalk.annotate.backends.rules import load_prototypes
    from blendtalk.blendshapes.mapping import INTENSITY_LETTERS, expression

    prototypes = load_prototypes()
    rows = []
    for emotion in emotions:
        aus = prototypes[emotion][0].aus
        letters = {au: INTENSITY_LETTERS[int(np.clip(2 + offset, 0, 4))] for au, offset in aus}
        rows.append(expression(letters, mapping, scale))
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(ARKIT_NAMES))


def style_expressions(styles: pd.DataFrame, source: str, model_dir: str | os.PathLike,
                      mapping, scale: Mapping[str, float]) -> pd.DataFrame:
    """The face of every style: `style_id` + the 52 ARKit columns, from the trained text2expr
    model on the style text (`source="text2expr"`) or the prototype of its emotion
    (`"prototypes"`)."""
    if source == "text2expr":
        from blendtalk.models.text2expr import predict_texts

        weights = predict_texts(model_dir, styles["text"].tolist())
    elif source == "prototypes":
        weights = prototype_expressions(styles["emotion"].tolist(), mapping, scale)
    else:
        raise ValueError(f"speech.animation.expression_source {source!r} is not one of "
                         "text2expr, prototypes")
    table = pd.DataFrame(weights, columns=list(ARKIT_NAMES))
    table.insert(0, "style_id", styles["style_id"].to_numpy())
    return table


def animate_speech(audio: np.ndarray, alignment: pd.DataFrame, expression: np.ndarray | None,
                   strength: float, blinks: bool, seed: int) -> np.ndarray:
    """Animate one utterance: its phones, the style's `(52,)` expression scaled by `strength`
    (None: no style), and the audio's prosody (energy → jaw, F0 → brows)."""
    from blendtalk.speech.animate import animate

    duration = audio.shape[0] / SAMPLE_RATE
    features = prosody(audio, SAMPLE_RATE, FPS)
    face = None if expression is None else np.clip(np.asarray(expression) * strength, 0.0, 1.0)
    return animate(alignment, duration, expression=face, energy=features["energy"],
                   f0=features["f0"], seed=seed, fps=FPS, blinks=blinks)


def utterance_seed(seed: int, utt_id: str) -> int:
    """The per-utterance seed of its blinks, from the master seed and the utt_id."""
    return int(rng(seed, "speech.utterance", utt_id).integers(2**31))


def animation_frame(weights: np.ndarray) -> pd.DataFrame:
    """The animation table (`frame` + the 52 ARKit columns) of `(T, 52)` weights."""
    table = pd.DataFrame(np.asarray(weights, dtype=np.float32), columns=list(ARKIT_NAMES))
    table.insert(0, "frame", np.arange(len(table), dtype=np.int32))
    return table


def utterances_table(plan: pd.DataFrame, wav_paths: Mapping[str, str | os.PathLike]
                     ) -> pd.DataFrame:
    """The utterances table of docs/DESIGN.md: the plan's rows with each wav's measured
    duration and sample rate."""
    import soundfile as sf

    infos = {utt: sf.info(str(path)) for utt, path in wav_paths.items()}
    table = plan.copy()
    table["duration_s"] = [infos[u].frames / infos[u].samplerate for u in table["utt_id"]]
    table["sample_rate"] = np.array([infos[u].samplerate for u in table["utt_id"]], np.int32)
    return table


def lipsync_scores(alignment: pd.DataFrame, curves: np.ndarray, audio: np.ndarray,
                   rig_opening: np.ndarray | None = None, closed: float = 0.0) -> dict[str, float]:
    """Lip-sync metrics of one animation against its phone timings (`metrics.lipsync`): bilabial
    closure rate on the curves and, with `rig_opening` `(T,)` (the rig's mouth opening in its
    units, closed at or below `closed`), on the rig; rounding rate; openness correlation;
    audio–visual offset in frames; jitter."""
    from blendtalk.metrics import lipsync

    start, end = alignment["start_s"].to_numpy(float), alignment["end_s"].to_numpy(float)
    phones = alignment["phone"].to_numpy(str)
    table = phone_table()
    bilabial = np.isin(phones, ["P", "B", "M"])
    rounded = np.isin(phones, ["UW", "OW", "W"])
    vowel = np.array([table.loc[p, "kind"] == "vowel" if p != SIL else False for p in phones])
    opening = lipsync.opening_from_curves(curves)
    envelope = prosody(audio, SAMPLE_RATE, FPS)["energy"]
    scores = {
        "frames": int(len(curves)),
        "bilabials": int(bilabial.sum()),
        "closure_rate_curves": lipsync.closure_rate(opening, start[bilabial], end[bilabial],
                                                    threshold=lipsync.PROXY_CLOSED, fps=FPS),
        "rounding_rate": lipsync.rounding_rate(lipsync.rounding_from_curves(curves),
                                               start[rounded], end[rounded], fps=FPS),
        "openness_correlation": lipsync.openness_correlation(
            opening, start[vowel], end[vowel], table.loc[phones[vowel], "openness"].to_numpy(float),
            fps=FPS),
        "av_offset_frames": lipsync.av_offset(opening, envelope),
        "jitter": lipsync.jitter(curves),
    }
    if rig_opening is not None:
        scores["closure_rate_rig"] = lipsync.closure_rate(rig_opening, start[bilabial],
                                                          end[bilabial], threshold=closed, fps=FPS)
    return scores


def closed_threshold(rig) -> float:
    """The rig mouth opening (rig units) at or below which lips count as closed: half the
    neutral face's opening, at least 2% of the opening at full jawOpen (rigs whose neutral
    lips touch)."""
    neutral = float(rig.mouth_opening(rig.neutral))
    jaw = np.zeros(len(ARKIT_NAMES), np.float32)
    jaw[ARKIT_NAMES.index("jawOpen")] = 1.0
    return max(0.5 * neutral, 0.02 * float(rig.mouth_opening(rig.pose(jaw))))


def summarise_scores(per_utterance: pd.DataFrame, by: str = "backend") -> dict:
    """Means of every score over all utterances and per `by` group (NaN-aware), with counts."""
    numeric = per_utterance.select_dtypes("number")
    out = {"utterances": int(len(per_utterance)),
           "mean": {k: float(v) for k, v in numeric.mean().items()}}
    out[f"by_{by}"] = {
        name: {"utterances": int(len(group)),
               "mean": {k: float(v) for k, v in group.select_dtypes("number").mean().items()}}
        for name, group in per_utterance.groupby(by)}
    return out


def read_wav(path: str | os.PathLike) -> np.ndarray:
    """A stage wav as 16 kHz mono float32 (silent audio allowed: a style may whisper)."""
    return load_audio(path, SAMPLE_RATE, allow_silent=True)


def plan_row(plan: pd.DataFrame, utt_id: str, source: str | os.PathLike = "plan") -> pd.Series:
    """The plan's row of `utt_id` (KeyError naming `source` when it has none)."""
    rows = plan.loc[plan["utt_id"] == utt_id]
    if rows.empty:
        raise KeyError(f"{source}: no utterance {utt_id} in the speech plan")
    return rows.iloc[0]


def style_row(style: str | None, styles: pd.DataFrame) -> pd.Series:
    """The style-table row a free style text speaks like: the row with that text, else the
    mild style of the emotion its words name (the rules annotator's lexicon), else neutral."""
    from blendtalk.annotate.backends.rules import lexicon_emotions

    if style:
        same = styles[styles["text"].str.casefold() == style.strip().casefold()]
        if len(same):
            return same.iloc[0]
    emotions = [e for e in lexicon_emotions(style or "") if e in set(styles["emotion"])] or ["neutral"]
    candidates = styles[styles["emotion"] == emotions[0]].sort_values("intensity")
    return candidates.iloc[0]


def style_face(style: str | None, styles: pd.DataFrame, model_dir: str | os.PathLike,
               mapping, scale: Mapping[str, float]) -> np.ndarray | None:
    """The `(52,)` face of a free style text: the trained text2expr model's expression when
    `model_dir` holds one, else the prototype of the emotion `style_row` finds; None without a
    style."""
    if not style:
        return None
    from pathlib import Path

    if (Path(model_dir) / "model.safetensors").is_file():
        from blendtalk.models.text2expr import predict_texts

        return predict_texts(model_dir, [style])[0]
    return prototype_expressions([style_row(style, styles)["emotion"]], mapping, scale)[0]


def write_take(weights: np.ndarray, *, video: str | os.PathLike | None, audio: str | os.PathLike,
               rig, settings, caption: str | None, crf: int,
               livelink: str | os.PathLike | None = None,
               parquet: str | os.PathLike | None = None) -> list[str]:
    """Write a take's outputs: the mp4 with the audio, the Live Link Face CSV, the animation
    parquet (each optional); returns what was written."""
    from blendtalk import tables
    from blendtalk.livelink import write_livelink_csv

    written = []
    if parquet:
        tables.write(animation_frame(weights), parquet, tables.ANIMATION)
        written.append(str(parquet))
    if livelink:
        write_livelink_csv(livelink, weights, fps=FPS)
        written.append(str(livelink))
    if video:
        from blendtalk.render.clips import render_video

        render_video(video, rig, weights, settings, audio=audio, caption=caption, fps=FPS, crf=crf)
        written.append(str(video))
    return written


def procedural_report(plan: pd.DataFrame, paths: Mapping[str, Mapping[str, str | os.PathLike]],
                      rig) -> dict:
    """Lip-sync scores of every utterance's procedural animation against its phone timings, on
    the curves and on `rig`, summarised overall and per voice backend. `paths` maps
    "alignments", "animations", "wavs" to {utt_id: file}."""
    from blendtalk import tables

    closed = closed_threshold(rig)
    voices = plan.set_index("utt_id")["voice"]
    rows = []
    for utt_id in sorted(paths["animations"]):
        curves = tables.read(paths["animations"][utt_id], tables.ANIMATION)[list(ARKIT_NAMES)].to_numpy()
        scores = lipsync_scores(tables.read(paths["alignments"][utt_id], tables.ALIGNMENT), curves,
                                read_wav(paths["wavs"][utt_id]), rig.mouth_opening(rig.pose(curves)),
                                closed)
        rows.append({"utt_id": utt_id, "backend": voices[utt_id].split(":")[0],
                     "voice": voices[utt_id], **scores})
    per_utterance = pd.DataFrame(rows)
    return {"rig": rig.name, "rig_closed_threshold": closed, **summarise_scores(per_utterance),
            "per_utterance": per_utterance.to_dict(orient="records")}
