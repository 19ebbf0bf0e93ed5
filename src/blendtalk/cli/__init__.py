"""The `blendtalk` console command: user-facing one-shot operations.

Each module in this package defines `register(subparsers)` adding one sub-command whose handler
is stored as the `func` default (`_args.add_command` does both); modules are discovered, so a
stage adds a command by adding a file here.

Errors a user can cause (a bad value, a missing or malformed file, a wrong config key) are
reported in one line, `blendtalk <command>: error: <what>`, with exit status 1 (2 for a bad
command line); `--debug` adds the traceback. Anything else is a bug and raises.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from blendtalk.cli._args import existing_file


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports a bad command line in one line (see `-h` for the usage)."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="blendtalk", description=__doc__.splitlines()[0])
    # None: `load_config`'s implicit default, which may be absent; a --config given must exist
    parser.add_argument("--config", type=existing_file, default=None,
                        help="workflow config to read settings from (default: the project's "
                             "config.yaml, or the schema defaults when there is none)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that report a problem with the user's input, not a bug (TableError is a
    ValueError; WorkflowError is what config validation raises)."""
    import yaml
    from snakemake.exceptions import WorkflowError

    from blendtalk.render.video import FFmpegError

    # ImportError: an optional package a backend needs is missing; NotImplementedError: a
    # backend that is declared but not built says so
    return (ValueError, KeyError, OSError, ImportError, NotImplementedError, yaml.YAMLError,
            WorkflowError, FFmpegError)


def describe(exc: BaseException) -> str:
    """One line for an error: its message (a KeyError's without quotes, an OSError's as
    `file: reason`), line breaks folded."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad command line, already reported; or --help
        return exc.code if isinstance(exc.code, int) else 1
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"blendtalk {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        if args.debug:
            traceback.print_exc()
        print(f"blendtalk {args.command}: error: {describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
