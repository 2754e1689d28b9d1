"""The ``kuntakokeilu`` command line.

Subcommands live in :mod:`analysis.commands`, one module each; a module provides
``register(subparsers)`` which adds its parser and sets ``func`` (taking the parsed
arguments and returning an exit code). Heavy imports happen inside ``func`` so that
``kuntakokeilu --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kuntakokeilu",
        description="Impact evaluation of the Finnish municipal pilots 2015-2016 (law 1350/2014).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"kuntakokeilu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:  # read-only folders and files: the user's environment
        where = f": {exc.filename}" if exc.filename else ""
        print(f"kuntakokeilu {args.command}: error: permission denied{where} ({exc.strerror or exc}); "
              "make it writable or choose another location", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
