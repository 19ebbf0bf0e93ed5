"""Fetching public corpus files (only when the config lists `download` entries)."""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from urllib.parse import urlparse

from ..io import atomic_path

log = logging.getLogger(__name__)


def download(url: str, dest: str | os.PathLike, sha256: str | None = None,
             timeout_s: float = 60.0) -> None:
    """Stream `url` (http or https only) to `dest` atomically; verify `sha256` when given."""
    if urlparse(url).scheme not in ("http", "https"):
        raise ValueError(f"refusing to download {url!r}: only http(s) URLs are allowed")
    digest = hashlib.sha256()
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if sha256 and digest.hexdigest() != sha256.lower():
            raise ValueError(f"{url}: sha256 {digest.hexdigest()} does not match the configured "
                             f"{sha256}")
    log.info("downloaded %s → %s (sha256 %s)", url, dest, digest.hexdigest())
