"""Fetch one public corpus file (rule corpora_download; only for sources with `download`)."""
from blendtalk.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821

from blendtalk.corpora.download import download

sm = snakemake  # noqa: F821
download(sm.params.url, sm.output[0], sha256=sm.params.sha256)
