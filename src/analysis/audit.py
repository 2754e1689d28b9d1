"""Audits of the panel: coverage (years, municipalities, missing share per variable) and
structural breaks (a robust rule over every series plus the table of known institutional and
classification breaks in ``data/reference/known_breaks.csv``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import paths
from .errors import DataIntegrityError, InputError, choices_message
from .outcomes import LABELS, OUTCOME_VARIABLES

AUDIT_VARIABLES = (*OUTCOME_VARIABLES, "population", "share_65_plus")


def coverage(panel: pd.DataFrame, variables=None, mainland_only: bool = False) -> pd.DataFrame:
    """One row per variable: variable, label, first_year, last_year, years (count with any
    data), municipalities (with any data), missing_share (share of municipality-years missing
    within first..last year)."""
    data = panel[~panel["aland"]] if mainland_only and "aland" in panel else panel
    variables = [v for v in (variables or AUDIT_VARIABLES) if v in data.columns]
    rows = []
    for v in variables:
        have = data[v].notna()
        years = sorted(data.loc[have, "year"].unique())
        if years:
            window = data[data["year"].between(years[0], years[-1])]
            missing = float(window[v].isna().mean())
        else:
            missing = 1.0
        rows.append({
            "variable": v, "label": LABELS.get(v, v),
            "first_year": int(years[0]) if years else None,
            "last_year": int(years[-1]) if years else None,
            "years": len(years),
            "municipalities": int(data.loc[have, "kunta"].nunique()),
            "missing_share": round(missing, 4),
        })
    return pd.DataFrame(rows)


def coverage_table(panel: pd.DataFrame, **kwargs) -> str:
    """The audit as an aligned terminal table."""
    from tabulate import tabulate

    cov = coverage(panel, **kwargs)
    cov["years covered"] = [f"{a}-{b}" if a is not None else "-" for a, b in zip(cov["first_year"], cov["last_year"])]
    cov["missing"] = [f"{100 * m:.1f} %" for m in cov["missing_share"]]
    shown = cov[["variable", "years covered", "years", "municipalities", "missing"]]
    return tabulate(shown, headers="keys", tablefmt="simple", showindex=False,
                    colalign=("left", "left", "right", "right", "right"))


# ---------------------------------------------------------------------------------------
# structural breaks
# ---------------------------------------------------------------------------------------
KNOWN_BREAKS_FILE = "known_breaks.csv"
KNOWN_BREAK_COLUMNS = ("kunta", "municipality_name", "variable", "break_year", "kind", "status", "reason", "source")
BREAK_COLUMNS = ("variable", "kunta", "municipality_name", "year", "value_before", "value", "log_change",
                 "national_log_change", "excess_log_change", "z_own", "z_national", "pattern", "detected_by",
                 "kind", "status", "reason", "source")


@dataclass(frozen=True)
class BreakRule:
    """Thresholds of the break rule (see :func:`structural_breaks`).

    A municipality-year is flagged when its year-on-year log change, net of the national
    (median) change of that year, is

    * ``z_own`` robust z-scores from the municipality's own other changes (median / MAD,
      leave-one-out, MAD floored at ``min_own_scale`` log points), and
    * ``z_national`` robust z-scores from the other municipalities' net changes in that year
      (cross-sectional median / MAD), and
    * at least ``min_log_change`` in absolute value (0.15 log points is about 16 %).

    Levels below ``floor_share`` x the national median level are raised to that floor before
    taking logs, so a series that starts near zero (or slightly negative) registers its jump.
    A municipality needs ``min_history`` other changes for its own-history scale.
    """

    z_own: float = 5.0
    z_national: float = 5.0
    min_log_change: float = 0.15
    floor_share: float = 0.05
    min_own_scale: float = 0.01
    min_history: int = 4

    def __post_init__(self) -> None:
        for name in ("z_own", "z_national", "min_log_change", "floor_share", "min_own_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and np.isfinite(value)):
                raise InputError(f"break rule {name} must be a non-negative number, got {value!r}")
        if not isinstance(self.min_history, int) or self.min_history < 2:
            raise InputError(f"break rule min_history must be an integer >= 2, got {self.min_history!r}")


def known_breaks(directory=None) -> pd.DataFrame:
    """The table of known institutional and classification breaks
    (``data/reference/known_breaks.csv``, sha256-checked). ``kunta == "*"`` marks a national
    break (every municipality)."""
    from .raw import raw_path

    path = raw_path(KNOWN_BREAKS_FILE, directory if directory is not None else paths.REFERENCE)
    table = pd.read_csv(path, dtype={"kunta": str}, keep_default_na=False)
    missing = [c for c in KNOWN_BREAK_COLUMNS if c not in table.columns]
    if missing:
        raise DataIntegrityError(f"{path} lacks column(s) {missing}")
    if (table["source"].str.strip() == "").any() or (table["reason"].str.strip() == "").any():
        raise DataIntegrityError(f"{path}: every known break needs a reason and a source")
    table["break_year"] = table["break_year"].astype(int)
    return table[list(KNOWN_BREAK_COLUMNS)]


def _mad(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _row_medians(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of the first ``counts[i]`` entries of each row of ``values`` (sorted ascending,
    missing entries last): the middle entry, or the mean of the two middle entries, as
    :func:`numpy.median` computes it on the row's finite values. ``NaN`` for empty rows."""
    out = np.full(len(values), np.nan)
    rows = np.flatnonzero(counts > 0)
    n = counts[rows]
    out[rows] = (values[rows, (n - 1) // 2] + values[rows, n // 2]) / 2
    return out


def _own_history(excess: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``excess``: median and robust scale (:func:`_mad`) of its finite values in
    the columns other than ``j``, and how many there are."""
    own = np.delete(excess, j, axis=1)
    own = np.where(np.isfinite(own), own, np.nan)
    counts = np.isfinite(own).sum(axis=1)
    centre = _row_medians(np.sort(own, axis=1), counts)
    spread = 1.4826 * _row_medians(np.sort(np.abs(own - centre[:, None]), axis=1), counts)
    return centre, spread, counts


def change_statistics(panel: pd.DataFrame, variable: str, rule: BreakRule | None = None,
                      mainland_only: bool = True) -> pd.DataFrame:
    """Every municipality-year change of ``variable`` with the statistics the break rule uses:
    ``value_before``, ``value``, ``log_change``, ``national_log_change`` (median over
    municipalities), ``excess_log_change`` (the difference), ``z_own``, ``z_national``,
    ``pattern`` and ``flagged``."""
    import warnings

    rule = rule or BreakRule()
    if variable not in panel.columns:
        raise InputError(choices_message("panel variable", variable, [c for c in panel.columns if c in AUDIT_VARIABLES]))
    data = panel[~panel["aland"].astype(bool)] if mainland_only and "aland" in panel else panel
    wide = data.pivot(index="kunta", columns="year", values=variable).sort_index(axis=1)
    values = wide.to_numpy(float)
    columns = [*BREAK_COLUMNS[:11], "pattern", "flagged"]
    level = np.nanmedian(values) if np.isfinite(values).any() else np.nan
    if not np.isfinite(level) or level <= 0 or values.shape[1] < 2:
        return pd.DataFrame(columns=columns)
    floor = rule.floor_share * level
    logs = np.log(np.where(np.isnan(values), np.nan, np.maximum(values, floor)))
    change = logs[:, 1:] - logs[:, :-1]
    years = wide.columns.to_numpy(int)
    change[:, np.diff(years) != 1] = np.nan  # consecutive years only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        national = np.nanmedian(change, axis=0)
    excess = change - national
    rows = []
    kunta = wide.index.tolist()
    for j in range(change.shape[1]):
        col = excess[:, j]
        ok = np.isfinite(col)
        if ok.sum() < 3:
            continue
        centre, scale = np.median(col[ok]), _mad(col[ok])
        at = np.flatnonzero(ok)
        x = col[at]
        # each municipality's own history: its other years (vectorised over municipalities)
        own_centre, own_scale, own_n = _own_history(excess[at], j)
        with np.errstate(invalid="ignore"):
            z_own = np.where(own_n >= rule.min_history,
                             (x - own_centre) / np.maximum(own_scale, rule.min_own_scale), np.nan)
        z_nat = (x - centre) / scale if scale > 0 else np.full(len(x), np.nan)
        nxt = excess[at, j + 1] if j + 1 < excess.shape[1] else np.full(len(x), np.nan)
        reverted = np.isfinite(nxt) & (np.sign(nxt) != np.sign(x)) & (np.abs(nxt) >= 0.5 * np.abs(x))
        flagged = ((np.abs(x) >= rule.min_log_change) & np.isfinite(z_own) & (np.abs(z_own) >= rule.z_own)
                   & np.isfinite(z_nat) & (np.abs(z_nat) >= rule.z_national))
        m = len(at)
        rows.extend(zip(
            [variable] * m, [kunta[i] for i in at], [int(years[j + 1])] * m, values[at, j].tolist(),
            values[at, j + 1].tolist(), change[at, j].tolist(), [float(national[j])] * m, x.tolist(),
            z_own.tolist(), z_nat.tolist(),
            ["one-year spike (reverts next year)" if r else "level shift" for r in reverted],
            flagged.tolist()))
    return pd.DataFrame(rows, columns=["variable", "kunta", "year", "value_before", "value", "log_change",
                                       "national_log_change", "excess_log_change", "z_own", "z_national",
                                       "pattern", "flagged"])


def rule_breaks(panel: pd.DataFrame, variable: str, rule: BreakRule | None = None,
                mainland_only: bool = True) -> pd.DataFrame:
    """Municipality-years of ``variable`` flagged by ``rule`` (see :func:`change_statistics`)."""
    stats = change_statistics(panel, variable, rule, mainland_only)
    return stats[stats["flagged"]].drop(columns="flagged").reset_index(drop=True)


def structural_breaks(panel: pd.DataFrame, variables=None, rule: BreakRule | None = None,
                      known: pd.DataFrame | None = None, mainland_only: bool = True) -> pd.DataFrame:
    """Structural-break audit of every panel variable: the rule's flags (:class:`BreakRule`)
    joined with the known institutional / classification breaks (``known_breaks.csv``).

    One row per (variable, municipality, year of the break: the first year at the new level).
    ``detected_by`` is ``rule``, ``known`` or ``rule+known``; ``reason`` says why (the known
    break's reason, or the rule's numbers). National known breaks (``kunta == "*"``) are listed
    once with ``kunta`` ``*``.
    """
    rule = rule or BreakRule()
    known = known_breaks() if known is None else known
    variables = [v for v in (variables or AUDIT_VARIABLES) if v in panel.columns]
    names = panel.drop_duplicates("kunta").set_index("kunta")["municipality_name"] \
        if "municipality_name" in panel else pd.Series(dtype=str)
    stats = [change_statistics(panel, v, rule, mainland_only) for v in variables]
    stats = pd.concat([t for t in stats if len(t)], ignore_index=True) if any(len(t) for t in stats) \
        else pd.DataFrame(columns=[*BREAK_COLUMNS[:11], "pattern", "flagged"])
    kn = known[known["variable"].isin(variables)].rename(columns={"break_year": "year"})
    kn = kn[["variable", "kunta", "year", "kind", "status", "reason", "source"]]
    merged = stats.merge(kn, on=["variable", "kunta", "year"], how="outer", indicator=True)
    merged = merged[merged["flagged"].fillna(False).astype(bool) | (merged["_merge"] != "left_only")].copy()
    merged["detected_by"] = "rule"
    merged.loc[(merged["_merge"] == "both") & merged["flagged"].fillna(False).astype(bool), "detected_by"] = "rule+known"
    merged.loc[(merged["_merge"] == "both") & ~merged["flagged"].fillna(False).astype(bool), "detected_by"] = "known"
    merged.loc[merged["_merge"] == "right_only", "detected_by"] = "known"
    rule_only = merged["_merge"] == "left_only"
    merged.loc[rule_only, "kind"] = "statistical"
    merged.loc[rule_only, "status"] = "flagged by the break rule"
    merged.loc[rule_only, "reason"] = [
        f"log change {lc:+.2f} vs national {nc:+.2f} ({100 * np.expm1(lc):+.0f} %), robust z {zo:+.1f} "
        f"against its own history and {zn:+.1f} against other municipalities that year; {pat}"
        for lc, nc, zo, zn, pat in zip(merged.loc[rule_only, "log_change"], merged.loc[rule_only, "national_log_change"],
                                       merged.loc[rule_only, "z_own"], merged.loc[rule_only, "z_national"],
                                       merged.loc[rule_only, "pattern"])]
    merged.loc[rule_only, "source"] = "break rule " + _rule_text(rule)
    merged = merged.drop(columns=["_merge", "flagged"])
    merged["municipality_name"] = [names.get(k, "all municipalities" if k == "*" else "") for k in merged["kunta"]]
    merged["year"] = merged["year"].astype(int)
    return merged[list(BREAK_COLUMNS)].sort_values(["variable", "year", "kunta"]).reset_index(drop=True)


def _rule_text(rule: BreakRule) -> str:
    return (f"(|z own| >= {rule.z_own:g}, |z national| >= {rule.z_national:g}, "
            f"|net log change| >= {rule.min_log_change:g})")


def breaks_in_window(breaks: pd.DataFrame, variable: str, first_year: int, last_year: int) -> dict[str, list[dict]]:
    """Municipality-specific breaks of ``variable`` whose break year lies inside the window
    (``first_year < year <= last_year``: both sides of the change observed): ``{kunta: [row, ...]}``."""
    rows = breaks[(breaks["variable"] == variable) & (breaks["kunta"] != "*")
                  & (breaks["year"] > first_year) & (breaks["year"] <= last_year)]
    out: dict[str, list[dict]] = {}
    for row in rows.to_dict("records"):
        out.setdefault(row["kunta"], []).append(row)
    return out


def breaks_table(breaks: pd.DataFrame) -> str:
    """The break audit as an aligned terminal table."""
    from tabulate import tabulate

    shown = breaks.assign(change=[f"{100 * np.expm1(v):+.0f} %" if pd.notna(v) else "" for v in breaks["log_change"]])
    shown = shown[["variable", "kunta", "municipality_name", "year", "change", "detected_by", "kind", "status"]]
    return tabulate(shown, headers="keys", tablefmt="simple", showindex=False)


def audit_dict(panel: pd.DataFrame, breaks: pd.DataFrame, rule: BreakRule, variables=None,
               mainland_only: bool = False) -> dict:
    """The audit as JSON-ready data: ``rule`` (thresholds), ``coverage`` rows and ``breaks``
    rows (one per variable x municipality x break year, with ``reason`` and ``source``)."""
    import dataclasses
    import json

    cov = coverage(panel, variables=variables, mainland_only=mainland_only)
    clean = json.loads(breaks.to_json(orient="records", double_precision=6))
    return {
        "rule": {**dataclasses.asdict(rule), "text": _rule_text(rule),
                 "description": "net log change = municipality's year-on-year log change minus the national "
                                "median change that year; flagged when |net| >= min_log_change and its robust "
                                "z (median/MAD) against the municipality's other years >= z_own and against "
                                "the other municipalities that year >= z_national"},
        "known_breaks_file": "data/reference/known_breaks.csv",
        "coverage": json.loads(cov.to_json(orient="records")),
        "breaks": clean,
    }
