"""Evaluation metrics: blendshape space (rig-free), retrieval, and mesh space (LVE, FDD, MOD, MVE)."""
