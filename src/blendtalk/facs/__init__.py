"""FACS action units: the catalogue of AUs the pipeline uses and their intensity scale."""

from blendtalk.facs.catalogue import INTENSITY_LETTERS, ActionUnit, Catalogue, load_catalogue

__all__ = ["INTENSITY_LETTERS", "ActionUnit", "Catalogue", "load_catalogue"]
