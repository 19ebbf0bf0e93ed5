# Stage: render (see docs/DESIGN.md). The reference head, expression videos for a seeded
# per-emotion sample of the expressions table, and the contact sheet of that sample.

import re

from blendtalk.render.settings import FRAME_KEYS, VIDEO_KEYS, select_keys

RENDER = config["render"]


wildcard_constraints:
    text_id="[0-9a-f]{16}",


rule render_reference_head:
    """Build the procedural reference head (neutral, triangles, 52 ARKit deltas, vertex sets)."""
    output:
        result("rig", "reference_head.npz"),
    log:
        log_for("render", "reference_head.log"),
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/render_reference_head.py"


rule render_import_rig:
    """Import an external rig (a folder of OBJ files named by ARKit/ICT-FaceKit shape names, or an
    .npz) by name; the log lists unmapped files and missing ARKit shapes."""
    input:
        lambda wc: external_rigs()[wc.rig],
    output:
        result("rig", "{rig}.npz"),
    log:
        log_for("render", "import_{rig}.log"),
    wildcard_constraints:
        rig="|".join(map(re.escape, external_rigs())) or "(?!)",
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/render_import_rig.py"


checkpoint render_sample:
    """Choose the expressions to render: samples_per_emotion per emotion, ranked by a hash of the
    seed and text_id. Its list decides which videos `rule all` asks for."""
    input:
        expressions=result("blendshapes", "expressions.parquet"),
    output:
        result("render", "sample.json"),
    log:
        log_for("render", "sample.log"),
    params:
        per_emotion=RENDER["samples_per_emotion"],
        seed=config["seed"],
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/render_sample.py"


rule render_expression_video:
    """neutral → expression → neutral clip of one expression (any text_id of the table)."""
    input:
        expressions=result("blendshapes", "expressions.parquet"),
        descriptions=result("annotations", "descriptions.parquet"),
        rig=render_rig(),
    output:
        result("videos", "expressions", "{text_id}.mp4"),
    log:
        log_for("render", "videos", "{text_id}.log"),
    params:
        # only what changes a video: a new samples_per_emotion re-renders none of the existing ones
        settings=canonical(select_keys(RENDER, VIDEO_KEYS)),
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/render_expression_video.py"


rule render_contact_sheet:
    """Grid of the sampled expressions at full strength: emotions in columns, samples in rows,
    captions below the faces."""
    input:
        expressions=result("blendshapes", "expressions.parquet"),
        descriptions=result("annotations", "descriptions.parquet"),
        sample=result("render", "sample.json"),
        rig=render_rig(),
    output:
        report(result("plots", "contact_sheet.png"), category="Render"),
    log:
        log_for("render", "contact_sheet.log"),
    params:
        settings=canonical(select_keys(RENDER, FRAME_KEYS)),  # which expressions: the sample.json input
    threads: 1
    conda:
        "../envs/render.yaml"
    script:
        "../workflow_scripts/render_contact_sheet.py"


ALL_TARGETS.extend([
    result("plots", "contact_sheet.png"),
    sampled_expression_videos,
])
