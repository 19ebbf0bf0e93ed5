"""Logging set-up shared by the workflow scripts and the command line."""

from __future__ import annotations

import logging
import os


def setup_logging(path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Log to `path` (the rule's `log:` file) when given, else to stderr."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8") if path else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
