"""Provenance recorded with every run: git commit, package version, panel checksum."""
from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from pathlib import Path

from .. import __version__
from ..paths import ROOT


def package_version() -> str:
    """Version of the installed ``analysis`` package."""
    return __version__


@functools.lru_cache(maxsize=None)
def package_source_sha256() -> str:
    """sha256 over the package's Python sources (``report/`` excluded: notebooks never call it).

    Part of a run's input hash, so that a change to the analysis code reruns the notebooks even
    when the version number is unchanged (editable installs during development)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith("report/"):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def git_commit(root: str | os.PathLike = ROOT) -> str | None:
    """Commit of the working tree at ``root`` (suffix ``-dirty`` if tracked files changed);
    ``None`` outside a git checkout or without git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        commit = head.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=20,
        )
        if dirty.returncode == 0 and dirty.stdout.strip():
            commit += "-dirty"
        return commit
    except (OSError, subprocess.SubprocessError):
        return None


def file_sha256(path: str | os.PathLike | None) -> str | None:
    """sha256 of a file, ``None`` if it does not exist."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def panel_sha256(panel_path: str | os.PathLike | None = None) -> str | None:
    """sha256 of the harmonised panel (default :data:`analysis.paths.PANEL_FILE`)."""
    from .. import paths

    return file_sha256(panel_path if panel_path is not None else paths.PANEL_FILE)


def run_metadata(parameters: dict, panel_path: str | os.PathLike | None = None) -> dict:
    """The ``metadata["kuntakokeilu"]`` block of an executed notebook."""
    return {
        "parameters": dict(parameters),
        "panel_sha256": panel_sha256(panel_path),
        "package_version": package_version(),
        "git_commit": git_commit(),
    }
