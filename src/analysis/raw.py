"""Immutable raw snapshots in ``data/raw/`` and their checksums.

``data/raw/MANIFEST.csv`` records, for every shipped file: source, original table/API id,
licence, attribution, sha256 and number of data rows. :func:`raw_path` verifies the sha256
on *every* read, so a changed byte is a :class:`~analysis.errors.DataIntegrityError` naming
the file, the expected and the actual hash. Code never writes into ``data/raw/``.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import DataIntegrityError, InputError, choices_message

MANIFEST_NAME = "MANIFEST.csv"
MANIFEST_COLUMNS = ("file", "source", "original_id", "licence", "attribution", "sha256", "rows", "bytes")


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    source: str
    original_id: str
    licence: str
    attribution: str
    sha256: str
    rows: int
    bytes: int


def raw_dir(directory: str | Path | None = None) -> Path:
    """The raw-data folder: ``directory`` if given, else ``analysis.paths.RAW``."""
    return Path(directory) if directory is not None else paths.RAW


def read_manifest(directory: str | Path | None = None) -> dict[str, ManifestEntry]:
    """The manifest as ``{file name: ManifestEntry}``."""
    path = raw_dir(directory) / MANIFEST_NAME
    if not path.exists():
        raise DataIntegrityError(f"raw-data manifest {path} is missing")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataIntegrityError(f"manifest {path} lacks column(s) {', '.join(missing)}")
        entries = {}
        for row in reader:
            entries[row["file"]] = ManifestEntry(
                **{**{c: row[c] for c in MANIFEST_COLUMNS}, "rows": int(row["rows"]), "bytes": int(row["bytes"])}
            )
    return entries


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_path(name: str, directory: str | Path | None = None) -> Path:
    """Path of raw file ``name`` after checking its sha256 against the manifest.

    Raises :class:`InputError` for a name not in the manifest and
    :class:`DataIntegrityError` for a missing or changed file.
    """
    folder = raw_dir(directory)
    manifest = read_manifest(folder)
    if name not in manifest:
        raise InputError(choices_message("raw data file", name, manifest))
    path = folder / name
    if not path.exists():
        raise DataIntegrityError(f"raw data file {path} listed in {MANIFEST_NAME} is missing")
    actual = sha256_of(path)
    expected = manifest[name].sha256
    if actual != expected:
        raise DataIntegrityError(
            f"raw data file {name} has changed: sha256 expected {expected}, actual {actual} "
            f"({path}). Raw snapshots are immutable; restore the file (git checkout -- {path.name}) "
            "or add a new snapshot with its own manifest row."
        )
    return path


def verify_all(directory: str | Path | None = None) -> dict[str, str]:
    """Check every manifest file; returns ``{file: sha256}``; raises on the first mismatch."""
    checked = {}
    for name, entry in read_manifest(directory).items():
        raw_path(name, directory)
        checked[name] = entry.sha256
    return checked
