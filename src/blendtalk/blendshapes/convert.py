"""Vectorised conversion of many FACS annotations to ARKit-52 weights.

Annotations arrive flat: one entry per (annotation, AU) with `rows` (which annotation), `aus`
(AU number) and `levels` (intensity 1–5 for A–E). The result is `(n_rows, 52)` float32 in [0, 1],
identical to `mapping.expression` applied row by row (same scale, same probabilistic OR).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from blendtalk.blendshapes.mapping import (DEFAULT_INTENSITY_SCALE, INTENSITY_LETTERS, AuMapping,
                                           check_scale)

N_LEVELS = len(INTENSITY_LETTERS)
#: The descriptions table's `action_units` column type (DESIGN.md).
ACTION_UNITS_TYPE = pa.list_(pa.struct([("au", pa.int16()), ("intensity", pa.string())]))


@dataclass(frozen=True)
class FlatAnnotations:
    """Entries of `n_rows` annotations: `rows` int64 (ascending), `aus` int64, `levels` int8
    (1–5 for A–E; 0 for a missing or unknown letter), all of one length."""

    n_rows: int
    rows: np.ndarray
    aus: np.ndarray
    levels: np.ndarray


def flatten_action_units(column: pa.Array | pa.ChunkedArray) -> FlatAnnotations:
    """A `list<struct{au, intensity}>` column (Arrow) → its flat entries.

    A null list counts as no entries (callers decide whether a null list is acceptable); a null AU
    becomes -1 and a null or unknown intensity level 0, so `entry_problems` can flag them.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n_rows = len(column)
    flat = pc.list_flatten(column)
    rows = pc.list_parent_indices(column).to_numpy(zero_copy_only=False).astype(np.int64)
    aus = pc.fill_null(pc.cast(flat.field("au"), pa.int64()), -1).to_numpy(zero_copy_only=False)
    idx = pc.index_in(flat.field("intensity"), value_set=pa.array(list(INTENSITY_LETTERS)))
    levels = (pc.fill_null(idx, -1).to_numpy(zero_copy_only=False) + 1).astype(np.int8)
    return FlatAnnotations(n_rows, rows, aus, levels)


def entry_problems(flat: FlatAnnotations, mapping: AuMapping) -> dict[str, np.ndarray]:
    """Per-row counts of bad entries, `{"unmapped_au": (n_rows,), "bad_intensity": (n_rows,)}`."""
    lut = mapping.lookup_table()
    in_range = (flat.aus >= 0) & (flat.aus < len(lut))
    unmapped = ~in_range | (lut[np.where(in_range, flat.aus, 0)] < 0)
    bad_level = (flat.levels < 1) | (flat.levels > N_LEVELS)
    return {"unmapped_au": np.bincount(flat.rows[unmapped], minlength=flat.n_rows),
            "bad_intensity": np.bincount(flat.rows[bad_level], minlength=flat.n_rows)}


def log_complements(mapping: AuMapping, scale: Mapping[str, float]) -> np.ndarray:
    """`(n_au * 5, 52)` float64: log(1 − weight × scale[level]) for every (AU, level) code
    `au_row * 5 + level − 1`; −inf where the contribution is 1."""
    contributions = np.clip(mapping.weights[:, None, :] * check_scale(scale)[None, :, None], 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.log1p(-contributions).reshape(-1, mapping.weights.shape[1])


def aus_to_arkit(flat: FlatAnnotations, mapping: AuMapping,
                 scale: Mapping[str, float] = DEFAULT_INTENSITY_SCALE) -> np.ndarray:
    """`(n_rows, 52)` float32 weights in [0, 1] from flat annotations (no AU rows are all zero).

    Each channel is 1 − Π(1 − weight × scale) over the row's AUs (probabilistic OR, computed as
    a sparse sum of logs); an AU repeated in a row counts once at its highest level. ValueError
    when any entry is unmapped or has no valid level (filter rows with `entry_problems` first).
    """
    problems = entry_problems(flat, mapping)
    for name, per_row in problems.items():
        if per_row.any():
            first = int(np.flatnonzero(per_row)[0])
            raise ValueError(f"{int(per_row.sum())} entries with {name} (first in row {first})")
    n_au = len(mapping.aus)
    au_row = mapping.lookup_table()[flat.aus]
    # Highest level per (row, AU), in a dense (n_rows, n_au) int8 grid: duplicates collapse here.
    grid = np.zeros((flat.n_rows, n_au), dtype=np.int8)
    np.maximum.at(grid.reshape(-1), flat.rows * n_au + au_row, flat.levels)
    rows, cols = np.nonzero(grid)
    codes = cols * N_LEVELS + grid[rows, cols].astype(np.int64) - 1
    indptr = np.zeros(flat.n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=flat.n_rows), out=indptr[1:])
    select = sp.csr_matrix((np.ones(len(codes)), codes, indptr), shape=(flat.n_rows, n_au * N_LEVELS))
    with np.errstate(invalid="ignore"):
        log_remaining = select @ log_complements(mapping, scale)
    return (-np.expm1(log_remaining)).astype(np.float32)
