"""Speed of this project's estimators against peer libraries, side by side in one process.

Each ``benchmarks/bench_*.py`` module exposes ``run() -> list[dict]`` with the rows of
:mod:`_harness` (``task, ours_s, peer, peer_s, ratio, target, load_before, load_after, note``).
Every comparison runs ours and the peer alternately on the same data; seconds are the best
repetition; ``ratio = peer seconds / our seconds`` in every row (> 1: ours is faster). The load
columns are the 1-minute load average before and after each row (``os.getloadavg``); a load
above the number of cores before a row means its figures were taken under load. This script
prints one table and writes ``benchmarks/results/latest.csv`` and ``.md``. Run with ``make
bench`` (installs the optional ``bench`` dependency group and synthdid first).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the bench modules import the shared _harness

from _harness import COLUMNS, load  # noqa: E402


def _load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="substring of benchmark module names to run")
    args = parser.parse_args(argv)
    rows = []
    start_load = load()
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        print(f">> {path.stem} (load {load()})", file=sys.stderr)
        start = time.perf_counter()
        try:
            rows += _load_module(path).run()
        except Exception as exc:  # a broken peer must not hide the other results
            traceback.print_exc()
            rows.append({"task": path.stem, "note": f"benchmark failed: {exc!r}"})
        print(f"   {time.perf_counter() - start:.1f} s", file=sys.stderr)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    cores = os.cpu_count()
    # under load: some row started with the load above the core count (the load after a row
    # includes the row's own work)
    busy = bool((table["load_before"].astype(float) > cores).any()) if len(table) else False
    header = (
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()} on "
        f"{platform.machine()}, {cores} cores; ratio = peer seconds / our seconds (> 1: ours is "
        f"faster); ours and peer alternate, best repetition of each; 1-min load average "
        f"{start_load} at start" + (f" -- taken UNDER LOAD (load above {cores} cores)" if busy else "")
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
