"""Logging set-up shared by the workflow scripts and the command line."""

from __future__ import annotations

import logging
import os
import sys
from types import TracebackType

log = logging.getLogger("blendtalk")


def setup_logging(path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Log to `path` (the rule's `log:` file) when given, else to stderr.

    With a `path`, an uncaught exception is also written there with its traceback (a failing
    rule's log then says why), and still printed to stderr.
    """
    handler = logging.FileHandler(path, mode="w", encoding="utf-8") if path else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    if path:
        sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], error: BaseException,
                  traceback: TracebackType | None) -> None:
    """sys.excepthook: the exception with its traceback to the log, then to stderr as usual."""
    if not issubclass(kind, KeyboardInterrupt):
        log.critical("uncaught %s: %s", kind.__name__, error, exc_info=(kind, error, traceback))
        logging.shutdown()  # flush the log file before the process ends
    sys.__excepthook__(kind, error, traceback)
