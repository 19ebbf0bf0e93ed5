"""The corpus stage: readers for GoEmotions (simplified and raw), WASSA-2017 Tweet Intensity,
ISEAR and generic tables; vectorised cleaning; label mapping; deduplication; splits; caps; QC."""

from .build import CORPUS_COLUMNS, build_source, cap_mask, combine, merge_duplicates
from .clean import CleanOptions, clean_texts
from .labels import load_label_map, map_labels
from .readers import FORMATS, read_source
from .records import CorpusFormatError

__all__ = ["CORPUS_COLUMNS", "FORMATS", "CleanOptions", "CorpusFormatError", "build_source",
           "cap_mask", "clean_texts", "combine", "load_label_map", "map_labels",
           "merge_duplicates", "read_source"]
