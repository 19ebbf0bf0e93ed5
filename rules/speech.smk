# Stage: speech (see docs/DESIGN.md): a seeded sample of corpus sentences spoken in styles by
# synthetic voices, with exact phone timings; the procedural phoneme-driven animator; Live Link
# Face takes, videos with audio and lip-sync metrics. One job per utterance, so an interrupted
# synthesis resumes per utterance. Library code: src/blendtalk/speech/.
SPEECH = config["speech"]
SPEECH_DIR = result("speech")


wildcard_constraints:
    utt_id="[0-9a-f]{16}",


checkpoint speech_plan:
    """Choose the sentences, their styles and voices (results/speech/plan.parquet)."""
    input:
        corpus=result("corpora", "corpus.parquet"),
        styles=SPEECH["styles_file"],
    output:
        result("speech", "plan.parquet"),
    log:
        log_for("speech", "plan.log"),
    params:
        sentences=canonical(SPEECH["sentences"]),
        max_words=SPEECH["max_words"],
        styles_per_sentence=SPEECH["styles_per_sentence"],
        voices=SPEECH["voices"],
        seed=config["seed"],
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_plan.py"


rule speech_synthesize:
    """Speak one planned utterance: 16 kHz mono wav and the synthesiser's own phone timings."""
    input:
        plan=result("speech", "plan.parquet"),
        styles=SPEECH["styles_file"],
    output:
        wav=result("speech", "audio", "{utt_id}.wav"),
        alignment=result("speech", "alignments", "{utt_id}.parquet"),
    log:
        log_for("speech", "synthesize", "{utt_id}.log"),
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_synthesize.py"


rule speech_utterances:
    """The utterance table with each utterance's measured duration."""
    input:
        plan=result("speech", "plan.parquet"),
        wavs=lambda wc: planned("speech", "audio", "{utt_id}.wav"),
    output:
        result("speech", "utterances.parquet"),
    log:
        log_for("speech", "utterances.log"),
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_utterances.py"


rule speech_style_expressions:
    """The face of every style text: the text2expr model's expression (or the EMFACS prototype
    of the style's emotion), one row of 52 weights per style_id."""
    input:
        styles=SPEECH["styles_file"],
        mapping=config["blendshapes"]["mapping"],
        model=([f"{T2E_MODEL}/model.safetensors", f"{T2E_MODEL}/config.json"]
               if SPEECH["animation"]["expression_source"] == "text2expr" else []),
    output:
        result("speech", "style_expressions.parquet"),
    log:
        log_for("speech", "style_expressions.log"),
    params:
        source=SPEECH["animation"]["expression_source"],
        model_dir=T2E_MODEL,
        intensity_scale=canonical(config["blendshapes"]["intensity_scale"]),
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_style_expressions.py"


rule speech_animate:
    """Phones → visemes → ARKit curves with the style's face and the audio's prosody: the
    animation table (exactly ceil(30 × duration) frames) and its Live Link Face take."""
    input:
        plan=result("speech", "plan.parquet"),
        wav=result("speech", "audio", "{utt_id}.wav"),
        alignment=result("speech", "alignments", "{utt_id}.parquet"),
        expressions=result("speech", "style_expressions.parquet"),
    output:
        animation=result("speech", "animation", "{utt_id}.parquet"),
        livelink=result("export", "{utt_id}.csv"),
    log:
        log_for("speech", "animate", "{utt_id}.log"),
    params:
        strength=SPEECH["animation"]["expression_strength"],
        blinks=SPEECH["animation"]["blinks"],
        seed=config["seed"],
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_animate.py"


rule speech_video:
    """One utterance on the rig with its audio, captioned with its text and style."""
    input:
        plan=result("speech", "plan.parquet"),
        wav=result("speech", "audio", "{utt_id}.wav"),
        animation=result("speech", "animation", "{utt_id}.parquet"),
        rig=render_rig(),
    output:
        result("videos", "speech", "{utt_id}.mp4"),
    log:
        log_for("speech", "videos", "{utt_id}.log"),
    params:
        settings=canonical(select_keys(RENDER, FRAME_KEYS + ("caption", "crf"))),
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/speech_video.py"


rule speech_metrics:
    """Lip-sync metrics of the procedural animator against the synthesisers' phone timings."""
    input:
        plan=result("speech", "plan.parquet"),
        alignments=lambda wc: planned("speech", "alignments", "{utt_id}.parquet"),
        animations=lambda wc: planned("speech", "animation", "{utt_id}.parquet"),
        wavs=lambda wc: planned("speech", "audio", "{utt_id}.wav"),
        rig=render_rig(),
    output:
        result("metrics", "speech_procedural.json"),
    log:
        log_for("speech", "metrics.log"),
    threads: 1
    conda:
        "../envs/speech.yaml"
    script:
        "../workflow_scripts/speech_metrics.py"


ALL_TARGETS.extend([
    lambda wc: planned("speech", "audio", "{utt_id}.wav"),
    lambda wc: planned("speech", "alignments", "{utt_id}.parquet"),
    result("speech", "utterances.parquet"),
    result("metrics", "speech_procedural.json"),
    lambda wc: planned("export", "{utt_id}.csv"),
    lambda wc: planned("videos", "speech", "{utt_id}.mp4", videos_only=True),
])
