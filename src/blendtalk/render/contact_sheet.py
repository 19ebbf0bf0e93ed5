"""A captioned grid of rendered expressions: one row per emotion (its name on the left), one
column per sample, each tile captioned underneath (its text wrapped to the tile's width)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from blendtalk.io import atomic_path
from blendtalk.render.video import caption_lines, font

LABEL_WIDTH = 90
PAD = 4


def contact_sheet(rows: Sequence[tuple[str, Sequence[tuple[np.ndarray, str]]]], font_size: int = 11,
                  max_caption_lines: int = 3) -> np.ndarray:
    """`rows` of `(label, [(image, caption), ...])` with all images `(H, W, 3)` uint8 of one size →
    the sheet `(rows * (H + caption band + pad) + pad, label + columns * (W + pad) + pad, 3)` uint8
    on white. Shorter rows leave blank cells."""
    tiles = [img for _, row in rows for img, _ in row]
    if not tiles:
        raise ValueError("contact sheet has no images")
    h, w = tiles[0].shape[:2]
    if any(t.shape != (h, w, 3) or t.dtype != np.uint8 for t in tiles):
        raise ValueError(f"contact sheet images must all be ({h}, {w}, 3) uint8")
    line_h = font_size + 3
    cell_h = h + max_caption_lines * line_h + PAD
    n_cols = max(len(row) for _, row in rows)
    sheet = Image.new("RGB", (LABEL_WIDTH + n_cols * (w + PAD) + PAD, len(rows) * (cell_h + PAD) + PAD),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (label, row) in enumerate(rows):
        top = PAD + r * (cell_h + PAD)
        draw.text((PAD, top + h // 2), label, fill=(0, 0, 0), font=font(font_size + 3), anchor="lm")
        for c, (image, caption) in enumerate(row):
            left = LABEL_WIDTH + c * (w + PAD)
            sheet.paste(Image.fromarray(image), (left, top))
            lines = caption_lines(caption, (), width_px=w, size=font_size, max_lines=max_caption_lines)
            for i, line in enumerate(lines):
                draw.text((left, top + h + 2 + i * line_h), line, fill=(40, 40, 40), font=font(font_size))
    return np.asarray(sheet)


def save_png(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write a `(H, W, 3)` uint8 image as PNG, atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
