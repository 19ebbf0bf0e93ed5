# Stage: blendshapes (see docs/DESIGN.md). FACS action units → ARKit-52 expression table,
# its summary and the per-emotion heatmap.

BLENDSHAPES = config["blendshapes"]  # defaults filled by validate_config (rules/common.smk)


rule blendshapes_table:
    """Convert every non-invalid description's AUs to 52 ARKit weights; split and emotion come
    from the corpus. Writes the table and summary.json (counts, exclusions, means, stats)."""
    input:
        descriptions=result("annotations", "descriptions.parquet"),
        corpus=result("corpora", "corpus.parquet"),
        mapping=BLENDSHAPES["mapping"],
    output:
        table=result("blendshapes", "expressions.parquet"),
        summary=result("blendshapes", "summary.json"),
    log:
        log_for("blendshapes", "table.log"),
    params:
        intensity_scale=canonical(BLENDSHAPES["intensity_scale"]),
        asymmetry=BLENDSHAPES["augment"]["asymmetry"],
        jitter=BLENDSHAPES["augment"]["jitter"],
        seed=config["seed"],
    threads: 1
    conda:
        "../envs/blendshapes.yaml"
    script:
        "../workflow_scripts/blendshapes_table.py"


rule blendshapes_heatmap:
    """Heatmap of the mean expression per emotion (emotions × 52 channels) for the report."""
    input:
        table=result("blendshapes", "expressions.parquet"),
    output:
        report(result("plots", "blendshape_heatmap.png"), category="Blendshapes"),
    log:
        log_for("blendshapes", "heatmap.log"),
    params:
        dpi=BLENDSHAPES["heatmap_dpi"],
    threads: 1
    conda:
        "../envs/blendshapes.yaml"
    script:
        "../workflow_scripts/blendshapes_heatmap.py"


ALL_TARGETS.extend([
    result("blendshapes", "expressions.parquet"),
    result("blendshapes", "summary.json"),
    result("plots", "blendshape_heatmap.png"),
])
