"""Names of the operating models and outcomes in English, Finnish and Swedish, and each
outcome's unit kind (``data/reference/codebook.csv``, sha256-checked like every reference file).

The report's summaries take every name from here, so a Finnish or Swedish text never falls
back to an English outcome name for an outcome the codebook knows.
"""
from __future__ import annotations

import csv
from functools import lru_cache

from . import paths
from .errors import InputError
from .formatting import check_lang
from .raw import raw_path

CODEBOOK_FILE = "codebook.csv"
COLUMNS = ("kind", "id", "label_en", "label_fi", "label_sv", "unit_kind")


@lru_cache(maxsize=2)
def _load(path: str) -> dict[tuple[str, str], dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"codebook {path} lacks column(s) {missing}")
        return {(row["kind"], row["id"]): row for row in reader}


def entries() -> dict[tuple[str, str], dict[str, str]]:
    """``{(kind, id): row}`` of the whole codebook (``kind`` is ``model`` or ``outcome``)."""
    return _load(str(raw_path(CODEBOOK_FILE, paths.REFERENCE)))


def has(kind: str, ident: str) -> bool:
    return (kind, ident) in entries()


def _row(kind: str, ident: str) -> dict[str, str] | None:
    """The codebook row of ``ident``, or of the one id that starts with it (a run named
    ``youth_outside_education`` for ``youth_outside_education_share``)."""
    rows = entries()
    if (kind, ident) in rows:
        return rows[(kind, ident)]
    matches = [r for (k, i), r in rows.items() if k == kind and ident and i.startswith(ident)]
    return matches[0] if len(matches) == 1 else None


def name(kind: str, ident: str, lang: str = "en", fallback: str | None = None) -> str:
    """The ``lang`` name of a model or outcome; ``fallback`` (or the id) when it is unknown."""
    row = _row(kind, ident)
    if row is None:
        return fallback if fallback is not None else str(ident)
    return row[f"label_{check_lang(lang)}"]


def model_name(model: str, lang: str = "en") -> str:
    return name("model", model, lang, fallback=str(model).replace("_", " ").capitalize())


def outcome_name(outcome: str, lang: str = "en", fallback: str | None = None) -> str:
    return name("outcome", outcome, lang, fallback=fallback)


def unit_kind(outcome: str) -> str | None:
    row = _row("outcome", outcome)
    return (row["unit_kind"] or None) if row else None
