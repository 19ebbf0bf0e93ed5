"""A captioned grid of rendered expressions: one column per emotion (its name above), one row
per sample, each face captioned underneath (its text wrapped to the tile's width), never over it."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from blendtalk.io import atomic_path
from blendtalk.render.video import caption_lines, font

PAD = 4


def contact_sheet(columns: Sequence[tuple[str, Sequence[tuple[np.ndarray, str]]]], font_size: int = 11,
                  max_caption_lines: int = 3) -> np.ndarray:
    """`columns` of `(emotion, [(image, caption), ...])` with all images `(H, W, 3)` uint8 of one
    size → the sheet `(header + rows * (H + caption band + pad) + pad, columns * (W + pad) + pad,
    3)` uint8 on white: the emotion heads its column, each caption sits in the band below its
    face. Shorter columns leave blank cells."""
    tiles = [img for _, column in columns for img, _ in column]
    if not tiles:
        raise ValueError("contact sheet has no images")
    h, w = tiles[0].shape[:2]
    if any(t.shape != (h, w, 3) or t.dtype != np.uint8 for t in tiles):
        raise ValueError(f"contact sheet images must all be ({h}, {w}, 3) uint8")
    line_h = font_size + 3
    header = font_size + 3 + 2 * PAD
    cell_h = h + max_caption_lines * line_h + PAD
    n_rows = max(len(column) for _, column in columns)
    sheet = Image.new("RGB", (len(columns) * (w + PAD) + PAD, header + n_rows * (cell_h + PAD) + PAD),
                      (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, (label, column) in enumerate(columns):
        left = PAD + c * (w + PAD)
        draw.text((left + w // 2, header // 2), label, fill=(0, 0, 0), font=font(font_size + 3), anchor="mm")
        for r, (image, caption) in enumerate(column):
            top = header + r * (cell_h + PAD)
            sheet.paste(Image.fromarray(image), (left, top))
            lines = caption_lines(caption, (), width_px=w, size=font_size, max_lines=max_caption_lines)
            for i, line in enumerate(lines):
                draw.text((left, top + h + 2 + i * line_h), line, fill=(40, 40, 40), font=font(font_size))
    return np.asarray(sheet)


def save_png(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write a `(H, W, 3)` uint8 image as PNG, atomically."""
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
