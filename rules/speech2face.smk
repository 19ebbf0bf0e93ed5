# Stage: speech2face (see docs/DESIGN.md): the learned speech → ARKit-52 model, trained on the
# speech corpus (the procedural animation is the target) and scored against the baselines.
# Audio features are cached under the cache root (.cache/speech_features). Library code:
# src/blendtalk/models/speech2face*.py, src/blendtalk/speech/encoders.py.
S2F = config["speech2face"]
S2F_MODEL = result("models", "speech2face")
S2F_FEATURES = in_cache(".cache/speech_features")
# Speed only (and the rule's threads): they change no output.
S2F_SPEED_ONLY = ("train.threads", "videos", "gpus")


S2F_ON_SPEECH = S2F["data"]["source"] == "speech"


def s2f_data(wildcards=None) -> dict:
    """What a speech2face rule learns from: the speech corpus (known once the speech plan
    exists) and the text2expr model of its styles, or the captured dataset's folder."""
    if not S2F_ON_SPEECH:
        return {"dataset": S2F["data"]["root"]}
    return {"wavs": planned("speech", "audio", "{utt_id}.wav"),
            "animations": planned("speech", "animation", "{utt_id}.parquet"),
            "alignments": planned("speech", "alignments", "{utt_id}.parquet"),
            "utterances": result("speech", "utterances.parquet"),
            "text2expr": f"{T2E_MODEL}/model.safetensors"}


rule speech2face_train:
    """Train on the train split, early stopping on val."""
    input:
        unpack(s2f_data),
    output:
        model=f"{S2F_MODEL}/model.safetensors",
        config=f"{S2F_MODEL}/config.json",
        history=f"{S2F_MODEL}/history.csv",
    log:
        log_for("speech2face", "train.log"),
    params:
        settings=canonical(S2F, drop=S2F_SPEED_ONLY),
        seed=config["seed"],
        text2expr_dir=T2E_MODEL,
        speech_dir=result("speech"),
        utterances=result("speech", "utterances.parquet"),
        cache_dir=S2F_FEATURES,
    threads: S2F["train"]["threads"]
    resources:
        gpu=S2F["gpus"],
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech2face_train.py"


rule speech2face_evaluate:
    """The model and every baseline on the test utterances (metrics/speech2face.json), and the
    model's curves for the side-by-side videos."""
    input:
        unpack(s2f_data),
        model=rules.speech2face_train.output.model,
        rig=render_rig(),
    output:
        metrics=result("metrics", "speech2face.json"),
        predictions=directory(result("speech2face", "predictions")),
    log:
        log_for("speech2face", "evaluate.log"),
    params:
        seed=config["seed"],
        model_dir=S2F_MODEL,
        text2expr_dir=T2E_MODEL,
        speech_dir=result("speech"),
        utterances=result("speech", "utterances.parquet"),
        cache_dir=S2F_FEATURES,
    threads: S2F["train"]["threads"]
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech2face_evaluate.py"


rule speech2face_plots:
    """Training curves and one test utterance's channels, procedural against model."""
    input:
        history=rules.speech2face_train.output.history,
        predictions=rules.speech2face_evaluate.output.predictions,
    output:
        loss=report(result("plots", "speech2face_loss.png"), category="speech2face"),
        curves=report(result("plots", "speech2face_curves.png"), category="speech2face"),
    log:
        log_for("speech2face", "plots.log"),
    params:
        animation_dir=result("speech", "animation"),
    threads: 1
    conda:
        "../envs/text2expr.yaml"
    script:
        "../workflow_scripts/speech2face_plots.py"


rule speech2face_video:
    """One test utterance side by side: procedural (left) | model (right), with its audio."""
    input:
        plan=result("speech", "plan.parquet"),
        wav=result("speech", "audio", "{utt_id}.wav"),
        procedural=result("speech", "animation", "{utt_id}.parquet"),
        predictions=rules.speech2face_evaluate.output.predictions,
        rig=render_rig(),
    output:
        result("videos", "speech2face", "{utt_id}.mp4"),
    log:
        log_for("speech2face", "videos", "{utt_id}.log"),
    params:
        settings=canonical(select_keys(RENDER, FRAME_KEYS + ("caption", "crf"))),
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/speech2face_video.py"


ALL_TARGETS.extend([
    *rules.speech2face_train.output,
    *rules.speech2face_evaluate.output,
    *rules.speech2face_plots.output,
])
if S2F_ON_SPEECH:  # side-by-side videos of test utterances of the speech corpus
    ALL_TARGETS.append(lambda wc: planned("videos", "speech2face", "{utt_id}.mp4", videos_only=True,
                                          count=S2F["videos"]))
