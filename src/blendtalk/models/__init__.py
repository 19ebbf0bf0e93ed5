"""Trainable models of blendtalk (one readable file each)."""
