"""What the sub-commands share to declare themselves: `add_command` (name, help and description
from the module docstring) and argparse type functions that refuse bad values with a message
naming the value and the rule, before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_command(subparsers: argparse._SubParsersAction, name: str, doc: str,
                run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """Add the sub-command `name` running `run(args)`; `doc` (the command module's docstring) gives
    its one-line help (the first line) and its description (the paragraphs after it)."""
    summary, _, description = doc.strip().partition("\n\n")
    summary = summary.rstrip(".")
    parser = subparsers.add_parser(name, help=summary, description=description or summary)
    parser.set_defaults(func=run)
    return parser


def _check(convert: Callable[[str], Any], ok: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    """An argparse type: `convert(text)`, refused with "`rule`, got 'text'" when it fails or
    when `ok(value)` is false."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
        return value
    return parse


#: A whole number ≥ 1 (frame counts).
positive_int = _check(int, lambda n: n >= 1, "must be a whole number of at least 1")
#: A finite number > 0 (frame rates).
positive_float = _check(float, lambda x: math.isfinite(x) and x > 0, "must be a number greater than 0")
#: A finite number in [0, 1] (intensities).
unit_interval = _check(float, lambda x: math.isfinite(x) and 0 <= x <= 1, "must be a number from 0 to 1")
#: Frame width and height: H.264 (yuv420p) needs a positive even number of pixels.
even_pixels = _check(int, lambda n: n >= 2 and n % 2 == 0, "must be a positive even number of pixels")


def existing_file(text: str) -> Path:
    """An argparse type: the path of a file that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, expected a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def existing_path(text: str) -> Path:
    """An argparse type: the path of a file or directory that exists."""
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or directory")
    return Path(text)


def output_file(text: str) -> Path:
    """An argparse type: a file to write, in a directory that exists (none is ever created)."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("empty file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, expected a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: directory {path.parent} does not exist (create it first)")
    return path
