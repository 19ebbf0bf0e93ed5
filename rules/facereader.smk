# Stage: facereader (see docs/DESIGN.md): a reader that reads ARKit-52 weights and their σ back
# from rendered frames, trained per rig on synthetic renders; its scores, a legibility report per
# rig, and the read-back of the run's own videos. Library code: src/blendtalk/render/synthetic.py,
# src/blendtalk/models/facereader*.py, src/blendtalk/metrics/facereader.py.
# Dataset shards live under the cache root (.cache/facereader/<rig>-<plan hash>) so an
# interrupted render resumes shard by shard; results/facereader/<rig>/dataset.json names them.
import re

import pandas as pd

FR = config["facereader"]
FR_SPEED_ONLY = ("train.threads",)


def facereader_rigs() -> dict[str, str]:
    """Rig name (the wildcard) → rig file of every rig with a reader: render.rig and facereader.rigs."""
    return {Path(rig_file(spec)).stem: rig_file(spec) for spec in rig_specs()}


FR_RENDER_RIG = Path(render_rig()).stem


def facereader_frames() -> int:
    """Frames of one rig's dataset."""
    d = FR["dataset"]
    return d["sequences"] * (1 + (d["states"] - 1) * d["frames_per_transition"])


def facereader_speech_frames(wildcards) -> list[str]:
    """Train-split speech animations, drawn from as real states (none unless speech_frames)."""
    if not FR["dataset"]["speech_frames"]:
        return []
    plan = pd.read_parquet(checkpoints.speech_plan.get().output[0], columns=["utt_id", "split"])
    return expand(result("speech", "animation", "{utt_id}.parquet"),
                  utt_id=plan.loc[plan["split"] == "train", "utt_id"])


def facereader_speech_videos(wildcards) -> list[str]:
    """The speech videos the run renders, read back (their curves: the animation tables)."""
    return planned("videos", "speech", "{utt_id}.mp4", videos_only=True)


def facereader_speech_animations(wildcards) -> list[str]:
    """The curves of those speech videos, in the same order."""
    return planned("speech", "animation", "{utt_id}.parquet", videos_only=True)


wildcard_constraints:
    reader_rig="|".join(map(re.escape, facereader_rigs())),


rule facereader_dataset:
    """Render the synthetic dataset of one rig: random and real states in short sequences under
    random camera, light, background (and caption band)."""
    input:
        rig=lambda wc: facereader_rigs()[wc.reader_rig],
        expressions=result("blendshapes", "expressions.parquet"),
        animations=facereader_speech_frames,
    output:
        result("facereader", "{reader_rig}", "dataset.json"),
    log:
        log_for("facereader", "dataset_{reader_rig}.log"),
    params:
        dataset=canonical(FR["dataset"]),
        render=canonical(select_keys(RENDER, FRAME_KEYS)),
        seed=config["seed"],
        cache_dir=in_cache(".cache/facereader"),
    threads: 1
    resources:
        runtime=lambda wc: 5 + facereader_frames() // 2000,  # minutes; ~7,000 frames/min at 64² on 2 cores
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/facereader_dataset.py"


rule facereader_train:
    """Train the GNLL reader and its MSE ablation; score both on the test renders; write the
    rig's legibility report."""
    input:
        dataset=rules.facereader_dataset.output[0],
    output:
        model=result("models", "facereader_{reader_rig}", "model.safetensors"),
        config=result("models", "facereader_{reader_rig}", "config.json"),
        scores=result("facereader", "{reader_rig}", "scores.json"),
        legibility=result("metrics", "legibility_{reader_rig}.json"),
    log:
        log_for("facereader", "train_{reader_rig}.log"),
    params:
        settings=canonical(FR, drop=FR_SPEED_ONLY + ("rigs", "dataset")),
        camera=canonical(FR["dataset"]["camera"]),
        seed=config["seed"],
    threads: FR["train"]["threads"]
    resources:
        # the dataset is held in memory as uint8 frames (twice while loading), plus torch's working set
        mem_mb=lambda wc: 1500 + 2 * facereader_frames() * FR["dataset"]["resolution"] ** 2 * 3 // 2**20,
    conda:
        "../envs/text2expr.yaml"
    script:
        "../workflow_scripts/facereader_train.py"


rule facereader_readback:
    """Read the run's expression and speech videos back with the render rig's reader; the error
    per region against the curves that were rendered (metrics/facereader.json, with the reader's
    scores) and one video's curves, rendered against read back."""
    input:
        model=result("models", f"facereader_{FR_RENDER_RIG}", "model.safetensors"),
        scores=result("facereader", FR_RENDER_RIG, "scores.json"),
        expressions=result("blendshapes", "expressions.parquet"),
        sample=result("render", "sample.json"),
        expression_videos=sampled_expression_videos,
        speech_videos=facereader_speech_videos,
        speech_animations=facereader_speech_animations,
    output:
        metrics=result("metrics", "facereader.json"),
        plot=report(result("plots", "facereader_readback.png"), category="facereader"),
    log:
        log_for("facereader", "readback.log"),
    params:
        video=canonical(select_keys(RENDER, ("duration_s", "fps"))),
        model_dir=result("models", f"facereader_{FR_RENDER_RIG}"),
    threads: FR["train"]["threads"]
    conda:
        "../envs/text2expr.yaml"
    script:
        "../workflow_scripts/facereader_readback.py"


ALL_TARGETS.extend([
    result("metrics", "facereader.json"),
    result("plots", "facereader_readback.png"),
    *(result("metrics", f"legibility_{name}.json") for name in facereader_rigs()),
])
