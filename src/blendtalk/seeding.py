"""One way to derive random generators from the run's seed.

`rng(seed, *keys)` gives a NumPy generator seeded by the integer `seed` and any number of string
`keys` (the consumer's name, a text, a row id): the same arguments always give the same stream,
on every machine and Python run (keys are hashed with SHA-1, not Python's salted `hash`), and
different keys give independent streams. `seed_torch(seed)` seeds PyTorch's global generators
(CPU and every CUDA device) before a model is built or trained.

Per-row draws over whole tables (millions of rows) use `ids.seeded_rank` instead: one vectorised
hash of each row's `text_id`, so a row's draw does not depend on the other rows either.
"""

from __future__ import annotations

import hashlib

import numpy as np


def key_word(key: str) -> int:
    """A string key as a 64-bit integer: the first 8 bytes of its SHA-1, little-endian."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "little")


def rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator seeded by `seed` (an integer >= 0) and the string `keys`, in order.

    `rng(seed)` equals `np.random.default_rng(seed)`; each key adds one 64-bit word (see
    `key_word`) to the seed sequence, so `rng(0, "a", "b")`, `rng(0, "b", "a")` and `rng(0, "ab")`
    are three different streams.
    """
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng([int(seed), *(key_word(k) for k in keys)])


def seed_torch(seed: int) -> None:
    """Seed PyTorch's global generators (CPU and all CUDA devices) with `seed`."""
    import torch

    torch.manual_seed(int(seed))
