"""Speech stage throughput on this machine, one run, printed as JSON:

- synthesis real-time factor (compute seconds per second of audio) per voice backend;
- alignment real-time factor (pocketsphinx forced alignment and phone loop);
- procedural animation frames/s, and its multiple of real time (30 frames/s; target ≥ 100x);
- `blendtalk animate` end to end, in-process, on a recording of about 20 s: seconds per second
  of audio, split into reading + alignment + animation + Live Link CSV + rendering the mp4 with
  its audio (target ≤ 0.5 s per second). The one-off start-up (imports, building the reference
  head) is reported apart: it does not grow with the audio.

    .venv/bin/python bench/speech.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import best_of

SENTENCES = ("The quick brown fox jumps over the lazy dog near the river bank.",
             "Maybe we should buy some bread before the shop closes tonight.",
             "I honestly cannot believe you would say something like that to me!",
             "Please remember to water the plants while we are away on holiday.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the animate recording")
    args = parser.parse_args()

    import soundfile as sf

    from blendtalk.render.reference_head import build_reference_head
    from blendtalk.render.renderer import RenderSettings
    from blendtalk.speech.align import align
    from blendtalk.speech.audio import SAMPLE_RATE, load_audio
    from blendtalk.speech.stage import animate_speech, write_take
    from blendtalk.speech.tts import get_voice

    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "synthesis": {}}
    line = SENTENCES[0]
    for spec in ("espeak:en-us", "espeak:en-gb+m3", "piper:joe"):
        voice = get_voice(spec)
        secs, spoken = best_of(lambda: voice.synthesize(line), warmup=True)
        report["synthesis"][spec] = {"audio_s": round(spoken.duration_s, 3),
                                     "rtf": round(secs / spoken.duration_s, 4)}
    espeak = get_voice("espeak:en-us")
    spoken = espeak.synthesize(line)
    forced, _ = best_of(lambda: align(spoken.audio, line), warmup=True)
    loop, _ = best_of(lambda: align(spoken.audio), warmup=True)
    report["alignment"] = {"audio_s": round(spoken.duration_s, 3),
                           "forced_rtf": round(forced / spoken.duration_s, 4),
                           "phone_loop_rtf": round(loop / spoken.duration_s, 4)}

    # a recording of about --seconds: the sentences spoken in turn, with their transcript
    pieces, words = [], []
    while sum(p.shape[0] for p in pieces) < args.seconds * SAMPLE_RATE:
        text = SENTENCES[len(pieces) % len(SENTENCES)]
        pieces += [espeak.synthesize(text).audio, np.zeros(SAMPLE_RATE // 4, np.float32)]
        words.append(text)
    audio = np.concatenate(pieces)
    duration = audio.shape[0] / SAMPLE_RATE
    transcript = " ".join(words)
    face = np.zeros(52, np.float32)
    face[[23, 24]] = 0.6  # a smile, mouthSmileLeft/Right

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "take.wav"
        sf.write(wav, audio, SAMPLE_RATE)
        t0 = time.perf_counter()
        rig = build_reference_head()
        startup = time.perf_counter() - t0
        timings = {}
        t = time.perf_counter()
        recording = load_audio(wav)
        alignment = align(recording, transcript)
        timings["read_and_align_s"] = time.perf_counter() - t
        t = time.perf_counter()
        weights = animate_speech(recording, alignment, face, 1.0, True, seed=0)
        timings["animate_s"] = time.perf_counter() - t
        anim_only, _ = best_of(lambda: animate_speech(recording, alignment, face, 1.0, True, seed=0))
        t = time.perf_counter()
        write_take(weights, video=Path(tmp) / "take.mp4", audio=wav, rig=rig,
                   settings=RenderSettings(), caption=transcript[:80], crf=20,
                   livelink=Path(tmp) / "take.csv")
        timings["csv_and_render_s"] = time.perf_counter() - t
    total = sum(timings.values())
    report["animation"] = {"frames": len(weights), "frames_per_s": round(len(weights) / anim_only),
                           "x_real_time": round(len(weights) / anim_only / 30.0, 1),
                           "target_x_real_time": 100}
    report["animate_end_to_end"] = {
        "audio_s": round(duration, 2), **{k: round(v, 3) for k, v in timings.items()},
        "s_per_audio_s": round(total / duration, 3), "target_s_per_audio_s": 0.5,
        "startup_s": round(startup, 2), "startup": "building the reference head, once per process"}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
