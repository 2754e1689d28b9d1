"""Appendix: what a reader needs to reproduce the report.

Git commit (and whether the tree was clean), sha256 of ``uv.lock``, the raw-data checksums
from ``data/raw/MANIFEST.csv`` (recorded and re-computed), software versions, run times and the
per-run provenance recorded by the notebook pipeline.
"""
from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from .chapters import _num, breakable, pipe_table
from .runs import Run

PACKAGES = ["kuntakokeilu-analysis", "numpy", "scipy", "pandas", "pyarrow", "statsmodels",
            "linearmodels", "matplotlib", "seaborn", "papermill", "pypandoc-binary", "typst",
            "pyyaml"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit(root: Path) -> tuple[str, bool | None]:
    """``(commit, dirty)``; ``("unknown", None)`` outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True, timeout=20).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def data_checksums(raw_dir: Path) -> list[dict[str, str]]:
    manifest = Path(raw_dir) / "MANIFEST.csv"
    if not manifest.exists():
        return []
    m = pd.read_csv(manifest, dtype=str)
    rows = []
    for r in m.itertuples():
        path = Path(raw_dir) / r.file
        actual = sha256_file(path) if path.exists() else "missing"
        rows.append({"file": r.file, "sha256": r.sha256, "verified": "yes" if actual == r.sha256 else f"NO ({actual[:12]})"})
    return rows


def appendix_markdown(root: Path, raw_dir: Path, runs: list[Run], renderer: str) -> str:
    """Markdown body of the reproducibility appendix."""
    root = Path(root)
    commit, dirty = git_commit(root)
    lock = root / "uv.lock"
    lock_hash = sha256_file(lock) if lock.exists() else "missing"
    lines = ["| Item | Value |", "|:---|:---|",
             f"| Git commit | `{commit}`{' (uncommitted changes in tracked files)' if dirty else ''} |",
             f"| `uv.lock` sha256 | `{breakable(lock_hash)}` |",
             f"| Report renderer | {renderer} |"]
    run_commits = sorted({str(r.run.get("git_commit")) for r in runs if r.run.get("git_commit")})
    panels = sorted({str(r.run.get("panel_sha256")) for r in runs if r.run.get("panel_sha256")})
    if run_commits:
        lines.append(f"| Git commit(s) of the runs | {', '.join(f'`{c[:12]}`' for c in run_commits)} |")
    if panels:
        lines.append(f"| Panel sha256 used by the runs | {', '.join(f'`{breakable(p)}`' for p in panels)} |")
    total = sum(float(r.run.get("seconds") or 0) for r in runs)
    lines.append(f"| Total run time of the notebooks (s) | {_num(total)} |")
    out = "\n".join(lines) + "\n\n: Provenance of this build. {#tbl-provenance}\n\n"
    sums = data_checksums(raw_dir)
    if sums:
        out += "Raw data checksums (recorded in `data/raw/MANIFEST.csv`, re-computed at build time):\n\n"
        out += pipe_table(["File", "sha256", "Verified"],
                          [[s["file"].replace("_", "\\_\u200b").replace(".", ".\u200b"), f"`{breakable(s['sha256'])}`",
                            s["verified"]] for s in sums], ["l", "l", "l"])
        out += "\n: Raw data checksums. {#tbl-checksums}\n\n"
    sw = software_versions()
    out += pipe_table(["Software", "Version"], [[k, v] for k, v in sw.items()])
    out += "\n: Software versions at build time. {#tbl-software}\n"
    return out
