"""Speed of this project's estimators against peer libraries, side by side in one process.

Each ``benchmarks/bench_*.py`` module exposes ``run() -> list[dict]`` with rows
``{"task", "ours_s", "peer", "peer_s", "ratio", "note"}`` (seconds: best of several repeats on
the same data). This script imports them all, prints one table, and writes
``benchmarks/results/latest.csv`` and ``.md``. Run with ``make bench`` (installs the optional
``bench`` dependency group first).
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
COLUMNS = ["task", "ours_s", "peer", "peer_s", "ratio", "note"]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="substring of benchmark module names to run")
    args = parser.parse_args(argv)
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        print(f">> {path.stem}", file=sys.stderr)
        start = time.perf_counter()
        try:
            rows += _load(path).run()
        except Exception as exc:  # a broken peer must not hide the other results
            traceback.print_exc()
            rows.append({"task": path.stem, "note": f"benchmark failed: {exc!r}"})
        print(f"   {time.perf_counter() - start:.1f} s", file=sys.stderr)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    header = (
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.processor() or 'cpu'}; ratio = peer seconds / our seconds (>1: we are faster)"
    )
    print(header)
    print(table.to_markdown(index=False, floatfmt=".4g"))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    table.to_csv(out / "latest.csv", index=False)
    (out / "latest.md").write_text(header + "\n\n" + table.to_markdown(index=False, floatfmt=".4g") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
