"""Text side of the text ↔ expression model: frozen encoders behind one interface, an on-disk
embedding cache, the three text views of a row and seeded EDA-style augmentation."""

from blendtalk.text.augment import augment, augmented_variants
from blendtalk.text.cache import EmbeddingCache
from blendtalk.text.encoders import TextEncoder, make_encoder
from blendtalk.text.views import VIEWS, text_views

__all__ = ["EmbeddingCache", "TextEncoder", "VIEWS", "augment", "augmented_variants",
           "make_encoder", "text_views"]
