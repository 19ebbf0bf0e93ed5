# blendtalk: emotional text → FACS descriptions → ARKit-52 expressions, models, metrics, videos.
# Run `snakemake --cores N` for everything, or name one file under results/ to build only it.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/corpora.smk"
include: "rules/annotate.smk"
include: "rules/blendshapes.smk"
include: "rules/text2expr.smk"
include: "rules/render.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
