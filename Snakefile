# blendtalk: emotional text → FACS descriptions → ARKit-52 expressions, models, metrics, videos.
# Run `snakemake --cores N` for everything, or name one file under results/ to build only it.
from pathlib import Path

from snakemake.utils import min_version

from blendtalk.config import read_yaml

min_version("9.0")

# Snakemake's own message for a YAML syntax error names neither the file nor the line.
if Path("config.yaml").exists():
    read_yaml("config.yaml")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/corpora.smk"
include: "rules/annotate.smk"
include: "rules/blendshapes.smk"
include: "rules/text2expr.smk"
include: "rules/render.smk"
include: "rules/speech.smk"
include: "rules/speech2face.smk"
include: "rules/facereader.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
