"""blendtalk: emotional text → FACS descriptions → ARKit-52 facial animation data and models."""

__version__ = "0.1.0"
