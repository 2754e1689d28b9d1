"""New immutable snapshots in ``data/raw/`` with their manifest row.

A fetched data set is written as a CSV file under a new, dated name (``sotkanet_3219_
20261123T094501Z.csv``) and registered in ``data/raw/MANIFEST.csv`` (the format of
:mod:`analysis.raw`): the ``source`` column records the service, the request URL and the UTC
retrieval time; ``original_id`` records the query; plus licence, attribution, sha256, rows and
bytes. (Extra manifest columns ``url``, ``query``, ``retrieved_at`` are filled when the
manifest has them.)

Guarantees: an existing file is never overwritten (the final step is a hard link, which fails
if the name exists); the snapshot and the manifest are each written atomically; if the manifest
update fails the new snapshot is removed again, so a failed run leaves ``data/raw/`` as it was.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import paths
from ..atomic import atomic_path
from ..errors import InputError
from ..raw import MANIFEST_COLUMNS, MANIFEST_NAME, read_manifest, sha256_of


@dataclass(frozen=True)
class Provenance:
    """Where a snapshot came from."""

    service: str  # e.g. "THL Sotkanet REST API 1.1"
    url: str  # the request URL (for POST queries: the table URL)
    query: str  # the query (GET parameters or the JSON body), compact text
    original_id: str  # e.g. "Sotkanet indicator 3219"
    licence: str
    attribution: str
    retrieved_at: dt.datetime  # UTC

    @property
    def retrieved_iso(self) -> str:
        return self.retrieved_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def default_raw_dir(root: str | Path | None = None) -> Path:
    """``<root>/data/raw``; ``root`` defaults to :func:`analysis.paths.project_root` (honours
    ``KUNTAKOKEILU_ROOT`` at call time)."""
    return Path(root or paths.project_root()) / "data" / "raw"


def snapshot_name(prefix: str, retrieved_at: dt.datetime, suffix: str = ".csv") -> str:
    """``<prefix>_<YYYYmmddTHHMMSSZ><suffix>`` with a filesystem-safe prefix."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", prefix).strip("_")
    stamp = retrieved_at.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe}_{stamp}{suffix}"


def _manifest_text_with(row: dict, manifest: Path) -> str:
    """The manifest's current text plus one row, in the manifest's own column order."""
    text = manifest.read_bytes().decode("utf-8")  # bytes: keep the existing line endings exactly
    header = next(csv.reader(io.StringIO(text, newline="")))
    missing = [c for c in MANIFEST_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{manifest} lacks column(s) {missing}; cannot register a new snapshot")
    ending = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=ending).writerow([row.get(c, "") for c in header])
    if text and not text.endswith("\n"):
        text += ending
    return text + buffer.getvalue()


def write_snapshot(
    frame: pd.DataFrame,
    name: str,
    provenance: Provenance,
    raw_dir: str | Path | None = None,
) -> Path:
    """Write ``frame`` as ``raw_dir/name`` (CSV, UTF-8) and append its manifest row.

    Raises :class:`InputError` if ``name`` exists already (in the folder or the manifest).
    """
    folder = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        raise InputError(f"no raw-data manifest at {manifest}; is the project root right?")
    target = folder / name
    if target.exists() or name in read_manifest(folder):
        raise InputError(f"snapshot {name} exists already in {folder}; snapshots are never overwritten")
    # 1. the snapshot: temporary file, then a hard link (fails if the name appeared meanwhile)
    with atomic_path(folder / f".{name}.staged") as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise InputError(f"snapshot {name} appeared in {folder} meanwhile; not overwritten") from None
        except OSError:  # file systems without hard links: exclusive create + copy
            with open(target, "xb") as out, open(tmp, "rb") as src:
                out.write(src.read())
    # the staged copy was renamed to .{name}.staged; remove it
    with contextlib.suppress(FileNotFoundError):
        (folder / f".{name}.staged").unlink()
    # 2. the manifest row, atomically; on failure remove the snapshot again
    try:
        row = {
            "file": name,
            "source": f"{provenance.service}; {provenance.url}; retrieved {provenance.retrieved_iso} "
                      "with kuntakokeilu fetch",
            "original_id": f"{provenance.original_id}; query: {provenance.query}",
            "licence": provenance.licence,
            "attribution": provenance.attribution,
            "sha256": sha256_of(target),
            "rows": str(len(frame)),
            "bytes": str(target.stat().st_size),
            "url": provenance.url,
            "query": provenance.query,
            "retrieved_at": provenance.retrieved_iso,
        }
        text = _manifest_text_with(row, manifest)
        with atomic_path(manifest, suffix=".csv") as tmp:
            tmp.write_bytes(text.encode("utf-8"))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise
    return target
