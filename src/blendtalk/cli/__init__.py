"""The `blendtalk` console command: user-facing one-shot operations.

Each module in this package defines `register(subparsers)` adding one sub-command whose handler
is stored as the `func` default; modules are discovered, so a stage adds a command by adding a
file here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blendtalk", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml",
                        help="workflow config to read settings from (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
