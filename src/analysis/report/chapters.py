"""Generate the report's data-driven parts from the run outputs.

Into ``<site>/_generated/``: one chapter per operating model (``model_<id>.qmd``, included by
``results.qmd``), the participants table (from the pilot registry), the data-sources table
(from ``data/raw/MANIFEST.csv``), the results overview for the summaries and the run table.
Figures are copied from the run folders. Prose numbers are written as Quarto variable
shortcodes (``{{< var key >}}``, see :mod:`analysis.report.variables`); tables are formatted
from ``results.json``. Nothing is estimated here.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from .. import atomic
from .runs import MODEL_ORDER, Run
from .variables import VariableSet, estimate_key, format_number, run_prefix, slug, var

ESTIMATOR_NAMES = {
    "twfe": "TWFE DiD",
    "did": "2×2 DiD",
    "did2x2": "2×2 DiD",
    "event_study": "Event study",
    "synthetic_control": "Synthetic control",
    "sc": "Synthetic control",
    "sdid": "Synthetic DiD",
    "callaway_santanna": "Callaway–Sant'Anna",
    "sun_abraham": "Sun–Abraham",
    "imputation": "Imputation (Borusyak et al.)",
}
INFERENCE_NAMES = {
    "cluster": "Cluster-robust SE (pilot unit)",
    "cluster_robust": "Cluster-robust SE (pilot unit)",
    "wild_cluster_bootstrap": "Wild cluster bootstrap (restricted)",
    "wild_bootstrap": "Wild cluster bootstrap",
    "wcr": "Wild cluster bootstrap (restricted)",
    "randomization": "Randomization inference",
    "randomization_inference": "Randomization inference",
    "placebo": "In-space placebo",
    "jackknife": "Jackknife",
    "bootstrap": "Bootstrap",
}
#: Preferred inference, most honest with few treated clusters first (GUIDE §3).
INFERENCE_PREFERENCE = ["wild_cluster_bootstrap", "wcr", "wild_bootstrap", "randomization",
                        "randomization_inference", "placebo", "cluster", "cluster_robust"]
ESTIMATOR_PREFERENCE = ["twfe", "did", "did2x2", "synthetic_control", "sc", "sdid"]
KNOWN_FIGURES = {
    "trends": "Outcome over time: pilot municipalities and comparison municipalities",
    "event_study": "Event study: difference between pilot and comparison municipalities by "
                   "year relative to the pilot start (0 = 2015; reference year 2014), with 95% "
                   "confidence intervals",
    "synthetic_control": "Synthetic control: pilot unit and its synthetic comparison",
    "synthetic_control_placebos": "Synthetic control in-space placebos: gap of the pilot unit (highlighted) "
                                  "and of each donor given the same treatment",
    "honest_did": "HonestDiD (Rambachan & Roth 2023): 95% interval of the 2015–2016 effect when post-period "
                  "trend violations may be up to M̄ times the largest pre-period change",
}


def name_estimator(e: str) -> str:
    return ESTIMATOR_NAMES.get(str(e), str(e).replace("_", " ").capitalize())


def name_inference(i: str | None) -> str:
    if i is None or str(i).lower() in ("none", "nan", ""):
        return "none (point estimate only)"
    return INFERENCE_NAMES.get(str(i), str(i).replace("_", " ").capitalize())


def label(*parts: str) -> str:
    """Quarto cross-reference label text (letters, digits and hyphens)."""
    return "-".join(slug(p).replace("_", "-") for p in parts)


def _num(x: Any, kind: str = "estimate") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return format_number(x, kind)[0]


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def pipe_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def preferred_estimate(results: dict[str, Any]) -> dict[str, Any] | None:
    """The headline estimate: preferred estimator, then the most honest inference (GUIDE §3)."""
    ests = [e for e in results.get("estimates") or [] if isinstance(e.get("estimate"), (int, float))]
    if not ests:
        return None

    def rank(e):
        i = str(e.get("inference"))
        s = str(e.get("estimator"))
        return (INFERENCE_PREFERENCE.index(i) if i in INFERENCE_PREFERENCE else 99,
                ESTIMATOR_PREFERENCE.index(s) if s in ESTIMATOR_PREFERENCE else 99)

    return sorted(ests, key=rank)[0]


def _ci_excludes_zero(e: dict[str, Any]) -> bool | None:
    lo, hi = e.get("ci_low"), e.get("ci_high")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)):
        return None
    return lo > 0 or hi < 0


# --------------------------------------------------------------------------- registry/manifest
def load_registry(reference_dir: Path) -> pd.DataFrame | None:
    path = Path(reference_dir) / "kuntakokeilu_participants_1350_2014.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str)


def model_names(registry: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    names = {m: (m.replace("_", " ").capitalize(), "") for m in MODEL_ORDER}
    if registry is not None:
        for m, g in registry.groupby("model_id"):
            names[m] = (g["model_en"].iloc[0], g["model_fi"].iloc[0])
    return names


def participants_table(registry: pd.DataFrame) -> str:
    rows = []
    order = {m: i for i, m in enumerate(MODEL_ORDER)}
    reg = registry.assign(_o=registry["model_id"].map(order)).sort_values(["_o", "unit_fi", "member_fi"])
    for (model, unit), g in reg.groupby(["model_id", "unit_fi"], sort=False):
        members = ", ".join(g["member_fi"])
        rows.append([g["law_item"].iloc[0], g["model_en"].iloc[0], unit, len(g), members])
    return (pipe_table(["§ 2 item", "Operating model", "Participating unit", "Members", "Member municipalities"],
                       rows, ["r", "l", "l", "r", "l"])
            + "\n: Participants named in law 1350/2014, § 2, by operating model (source: pilot "
              "registry `data/reference/kuntakokeilu_participants_1350_2014.csv`). {#tbl-participants}\n")


def overlap_sentence(registry: pd.DataFrame | None, model: str, names) -> str:
    if registry is None:
        return ""
    units = set(registry.loc[registry["model_id"] == model, "unit_id"])
    others = registry[(registry["unit_id"].isin(units)) & (registry["model_id"] != model)]
    if others.empty:
        return "None of its units ran another pilot model."
    parts = []
    for other, g in others.groupby("model_id"):
        parts.append(f"{names[other][0].lower()} ({', '.join(sorted(set(g['unit_fi'])))})")
    return ("Some of its units also ran other pilot models at the same time: " + "; ".join(parts)
            + ". The estimates below therefore measure this model together with those pilots "
              "(see Limitations).")


def sources_table(manifest: Path) -> str:
    if not Path(manifest).exists():
        return "*The data manifest `data/raw/MANIFEST.csv` was not found.*\n"
    m = pd.read_csv(manifest, dtype=str)
    # file names as text with zero-width spaces after "_" so that narrow PDF columns can wrap them
    rows = [[r.file.replace("_", "\\_\u200b"), r.source.split(";")[0], r.licence, r.attribution]
            for r in m.itertuples()]
    return (pipe_table(["File", "Source", "Licence", "Attribution"], rows)
            + "\n: Raw data snapshots shipped with the repository (from `data/raw/MANIFEST.csv`). {#tbl-sources}\n")


# --------------------------------------------------------------------------- per-run sections
def estimates_table(run: Run) -> str:
    res = run.results or {}
    estimates = res.get("estimates") or []
    rows = []
    for e in estimates:
        ci = (f"[{_num(e.get('ci_low'))}, {_num(e.get('ci_high'))}]"
              if e.get("ci_low") is not None and e.get("ci_high") is not None else "–")
        clusters = (f"{_num(e.get('n_treated_clusters'), 'count')} / {_num(e.get('n_clusters'), 'count')}")
        rows.append([name_estimator(e.get("estimator")), name_inference(e.get("inference")),
                     e.get("term") or "", _num(e.get("estimate")), _num(e.get("se")), ci,
                     _num(e.get("p_value"), "p"), clusters])
    unit = res.get("unit_label") or ""
    return (pipe_table(["Estimator", "Inference", "Term", "Estimate", "SE", "95% CI", "p-value",
                        "Treated / all clusters"], rows, ["l", "l", "l", "r", "r", "r", "r", "r"])
            + f"\n: Estimated effect on {res.get('outcome_label', run.outcome).lower()} ({unit}), "
              f"every estimator and inference method run. SE = standard error (– where the method "
              f"gives none); clusters are pilot units. {{#tbl-{label(run.run_id, 'estimates')}}}\n")


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _flatten(v, f"{prefix}{' / ' if prefix else ''}{str(k).replace('_', ' ')}")
    elif isinstance(d, list):
        out.append((prefix, ", ".join(str(x) for x in d)))
    else:
        out.append((prefix, d))
    return out


def _value_text(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v) if v is not None else "–"
    if isinstance(v, (int, float)):
        return _num(v, "count" if isinstance(v, int) else "estimate")
    return str(v)


def dict_table(d: dict[str, Any], caption: str, tbl: str) -> str:
    """Scalars as an item/value table; each list of records as its own table."""
    scalars = {k: v for k, v in d.items()
               if not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
    out = ""
    rows = [[k, _value_text(v)] for k, v in _flatten(scalars)
            if k.split(" / ")[0] not in ("run id", "model", "outcome")]
    if rows:
        out += pipe_table(["Item", "Value"], rows, ["l", "r"]) + f"\n: {caption} {{#tbl-{tbl}}}\n\n"
    for k, records in d.items():
        if k in scalars:
            continue
        cols = list(dict.fromkeys(c for r in records for c in r))
        body = [[_value_text(r.get(c)) for c in cols] for r in records]
        out += (pipe_table([c.replace("_", " ") for c in cols], body,
                           ["r" if any(isinstance(r.get(c), (int, float)) for r in records) else "l" for c in cols])
                + f"\n: {caption} ({k.replace('_', ' ')}) {{#tbl-{tbl}-{slug(k).replace('_', '-')}}}\n\n")
    return out


def reading(run: Run, vs: VariableSet) -> str:
    """Plain-language reading generated from the numbers: what can and cannot be concluded."""
    res = run.results or {}
    prefix = run_prefix(run)
    best = preferred_estimate(res)
    unit = res.get("unit_label") or ""
    out = []
    if best is None:
        return "No estimate was produced for this outcome, so nothing can be concluded about an effect."
    k = f"{prefix}.{estimate_key(best, res.get('estimates') or [])}"
    desc = (f"The headline estimate ({name_estimator(best.get('estimator'))}, "
            f"{name_inference(best.get('inference')).lower()}) is {var(k + '.estimate')} {unit}")
    excl = _ci_excludes_zero(best)
    if f"{k}.ci_low" in vs and f"{k}.ci_high" in vs:
        desc += f", with a 95% confidence interval from {var(k + '.ci_low')} to {var(k + '.ci_high')}"
    if f"{k}.p_value" in vs:
        desc += f" (p = {var(k + '.p_value')})"
    out.append(desc + ".")
    if excl is True:
        out.append("The interval excludes zero: the data are not consistent with no change relative "
                   "to the comparison municipalities, *given* parallel trends. This is an "
                   "intention-to-treat difference for all municipalities named in the law, and it "
                   "includes any other pilots run in the same places at the same time.")
    elif excl is False:
        out.append("The interval includes zero: the data cannot distinguish an effect from no effect. "
                   "This is not evidence that the pilot had no effect.")
    if f"{prefix}.mde" in vs:
        out.append(f"With this design the minimum detectable effect is about {var(prefix + '.mde')} "
                   f"{unit}; effects smaller than that would usually go unnoticed.")
    n_t = res.get("n_treated_units")
    if isinstance(n_t, (int, float)) and n_t <= 1:
        msg = ("With a single treated unit there is no cluster-robust standard error; inference rests "
               "on placebo comparisons with the donor municipalities")
        if f"{prefix}.sc_min_p_value" in vs:
            msg += f", whose smallest attainable p-value is {var(prefix + '.sc_min_p_value')}"
        out.append(msg + ".")
    elif isinstance(n_t, (int, float)) and n_t < 10:
        out.append(f"With only {var(prefix + '.n_treated_units')} treated clusters, conventional "
                   "cluster-robust p-values are too small; read the wild cluster bootstrap and "
                   "randomization-inference rows instead.")
    if f"{prefix}.pretrend_p_value" in vs:
        p = res.get("pretrend_p_value")
        verdict = ("does not reject parallel pre-trends" if p >= 0.05 else
                   "rejects parallel pre-trends, so the difference-in-differences estimates are doubtful")
        out.append(f"The joint test of the pre-pilot event-study coefficients (p = "
                   f"{var(prefix + '.pretrend_p_value')}) {verdict}; a test with few clusters has "
                   "little power, so passing it is weak reassurance.")
    return " ".join(out)


def run_section(run: Run, vs: VariableSet, site: Path, names) -> str:
    res = run.results or {}
    lines: list[str] = []
    title = (res.get("outcome_label") or run.outcome.replace("_", " ").capitalize()) if run.ok else \
        run.outcome.replace("_", " ").capitalize()
    if run.ok and not res.get("estimates"):
        kind = run.run_id.split("__")[0]
        kind = "Descriptives" if kind in (run.model, "descriptives") else kind.replace("_", " ").capitalize()
        title = f"{kind}: {title}" if res.get("outcome_label") else f"{kind} (`{run.run_id}`)"
    sec = label(run.run_id)
    lines.append(f"## {title} {{#sec-{sec}}}\n")
    if not run.ok:
        err = run.run.get("error") or "no results.json"
        lines.append("::: {.callout-warning title=\"Run failed\"}\n"
                     f"The run `{run.run_id}` did not produce results: `{_md_escape(err)}`. "
                     "Nothing is reported for this outcome.\n:::\n")
        return "\n".join(lines)
    prefix = run_prefix(run)
    unit = res.get("unit_label") or ""
    design = "Design"
    if f"{prefix}.n_treated_units" in vs:
        design += f": {var(prefix + '.n_treated_units')} treated pilot unit(s)"
        if f"{prefix}.n_treated_municipalities" in vs:
            design += f" ({var(prefix + '.n_treated_municipalities')} municipalities)"
        if f"{prefix}.n_control_municipalities" in vs:
            design += f" against {var(prefix + '.n_control_municipalities')} comparison municipalities"
    if f"{prefix}.year_start" in vs:
        design += f", years {var(prefix + '.year_start')}–{var(prefix + '.year_end')}"
    lines.append(design + (f". Outcome unit: {unit}" if unit else "") + f". Run: `{run.run_id}`.\n")
    fig_dir = site / "_generated" / "figures" / run.run_id
    figs = {p.stem: p for p in run.figures}
    ordered = [n for n in KNOWN_FIGURES if n in figs] + sorted(n for n in figs if n not in KNOWN_FIGURES)
    refs = []
    for name in ordered:
        fig_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(figs[name], fig_dir / f"{name}.png")
        refs.append(f"@fig-{label(run.run_id, name)}")
    if refs:
        lines.append("Figures: " + ", ".join(refs) + ".\n")
    for name in ordered:
        cap = KNOWN_FIGURES.get(name, name.replace("_", " ").capitalize())
        if res.get("outcome_label"):
            cap = f"{cap} — {res['outcome_label']}" + (f" ({unit})." if unit else ".")
        else:  # descriptive runs cover several outcomes; the figure name says which
            cap = f"{cap}."
        lines.append(f"![{cap}](_generated/figures/{run.run_id}/{name}.png)"
                     f"{{#fig-{label(run.run_id, name)}}}\n")
    has_estimates = bool(res.get("estimates"))
    if has_estimates:
        lines.append(f"### Estimates\n\n@tbl-{label(run.run_id, 'estimates')} lists every estimate.\n")
        lines.append(estimates_table(run))
    warnings = sorted({w for e in res.get("estimates") or [] for w in e.get("warnings") or []})
    if warnings:
        lines.append("::: {.callout-note title=\"Warnings from the estimators\"}\n"
                     + "\n".join(f"- {_md_escape(w)}" for w in warnings) + "\n:::\n")
    sc = res.get("synthetic_control")
    if isinstance(sc, dict):
        lines.append("### Synthetic control\n")
        text = "Synthetic control paths are shown where the run produced them."
        if f"{prefix}.sc_placebo_p_value" in vs:
            text = (f"The in-space placebo p-value is {var(prefix + '.sc_placebo_p_value')}"
                    + (f" (smallest attainable: {var(prefix + '.sc_min_p_value')})."
                       if f"{prefix}.sc_min_p_value" in vs else "."))
        lines.append(text + "\n")
        weights = sc.get("weights") or {}
        if weights:
            rows = [[k, _num(v)] for k, v in sorted(weights.items(), key=lambda kv: -kv[1])[:10]]
            lines.append(pipe_table(["Donor", "Weight"], rows, ["l", "r"])
                         + f"\n: Largest synthetic-control donor weights. {{#tbl-{label(run.run_id, 'weights')}}}\n")
    rob = res.get("robustness")
    power = res.get("power")
    if rob or power:
        lines.append("### Robustness and power\n")
    shown = {"estimates", "results"}  # run tables already shown, formatted, from results.json
    if isinstance(rob, dict) and rob:
        # notes are printed below from the run's notes; HonestDiD bounds get their own caption
        checks = {k: v for k, v in rob.items() if k not in ("notes", "honest_did")}
        lines.append(dict_table(checks, "Robustness checks reported by the run.", label(run.run_id, "robustness")))
        shown.add("robustness")
        if rob.get("honest_did"):
            lines.append(dict_table({"bounds": rob["honest_did"]},
                                    "HonestDiD (Rambachan & Roth 2023): 95% intervals for the 2015–2016 effect "
                                    "allowing parallel-trend violations up to M̄ (relative magnitudes) or M "
                                    "(smoothness; M in pre-period SE units in the third column)",
                                    label(run.run_id, "honest-did")))
            shown.add("honest_did")
    if isinstance(power, dict) and power:
        lines.append(dict_table(power, "Power: minimum detectable effect (MDE) for this design.",
                                label(run.run_id, "power")))
    for t in run.tables:
        if t.stem in shown:
            continue
        lines.append(f"#### Table from the run: {t.stem.replace('_', ' ')}\n")
        lines.append(t.read_text(encoding="utf-8").strip() + "\n")
    if has_estimates:
        lines.append("### What can and cannot be concluded\n")
        lines.append("::: {.callout-important title=\"Plain-language reading\"}\n" + reading(run, vs) + "\n:::\n")
    for n in res.get("notes") or []:
        lines.append(f"*Note:* {_md_escape(n)}\n")
    return "\n".join(lines)


def model_chapter(model: str, runs: list[Run], vs: VariableSet, site: Path, registry, names) -> str:
    en, fi = names.get(model, (model, ""))
    lines = [f"# {en} {{#sec-model-{label(model)}}}\n"]
    if fi:
        lines.append(f"*{fi}* (model id `{model}`).\n")
    if registry is not None:
        units = sorted(set(registry.loc[registry["model_id"] == model, "unit_fi"]))
        lines.append("Participating units: " + "; ".join(units) + ". " + overlap_sentence(registry, model, names) + "\n")
    if not runs:
        why = ("This is a process pilot (it relaxed supervision obligations); the shipped data hold no "
               "outcome series that measures what it changed. " if model == "supervision" else "")
        lines.append("::: {.callout-note title=\"No impact estimate\"}\n" + why
                     + "No run of this model is in the run folder, so this chapter is descriptive only "
                       "and nothing can be concluded about the model's effects.\n:::\n")
    for run in runs:
        lines.append(run_section(run, vs, site, names))
    return "\n".join(lines)


def summary_overview(runs: list[Run], vs: VariableSet, names, language: str = "en") -> str:
    """Bullet list of the headline estimate per run (English or Finnish)."""
    lines = []
    for run in runs:
        if not run.ok:
            continue
        res = run.results or {}
        best = preferred_estimate(res)
        if best is None:
            continue
        k = f"{run_prefix(run)}.{estimate_key(best, res.get('estimates') or [])}"
        en, fi = names.get(run.model, (run.model, run.model))
        unit = res.get("unit_label") or ""
        excl = _ci_excludes_zero(best)
        ci = (f"{var(k + '.ci_low')} to {var(k + '.ci_high')}" if f"{k}.ci_low" in vs else None)
        if language == "fi":
            s = f"- **{fi}**, {res.get('outcome_label', run.outcome).lower()}: arvio {var(k + '.estimate')} ({unit})"
            if ci:
                s += f", 95 %:n luottamusväli {var(k + '.ci_low')} … {var(k + '.ci_high')}"
                s += "; väli ei sisällä nollaa." if excl else "; väli sisältää nollan (ei näyttöä vaikutuksesta kumpaankaan suuntaan)."
            lines.append(s)
        else:
            s = f"- **{en}**, {res.get('outcome_label', run.outcome).lower()}: {var(k + '.estimate')} {unit}"
            if ci:
                s += f" (95% CI {ci})"
                s += "; the interval excludes zero." if excl else "; the interval includes zero (inconclusive)."
            lines.append(s)
    return "\n".join(lines) + "\n" if lines else "*No run produced results.*\n"


def run_table(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        params = r.run.get("parameters") or {}
        p = ", ".join(f"{k}={v}" for k, v in params.items())
        secs = r.run.get("seconds")
        rows.append([f"`{r.run_id}`", r.run.get("status", "?"), _num(secs, "estimate") if secs is not None else "–",
                     p, (r.run.get("input_hash") or "")[:12], _md_escape(r.run.get("error") or "")])
    return (pipe_table(["Run", "Status", "Seconds", "Parameters", "Input hash", "Error"], rows,
                       ["l", "l", "r", "l", "l", "l"])
            + "\n: Every executed run (from `run.json`). {#tbl-run-table}\n")


def generate(runs: list[Run], vs: VariableSet, site: Path, registry=None, manifest: Path | None = None) -> list[Path]:
    """Write all generated includes into ``<site>/_generated``; return the written files."""
    gen = Path(site) / "_generated"
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    names = model_names(registry)
    written = []
    # one chapter per operating model of the law; runs of anything else (e.g. a data audit)
    # appear in the run table of the appendix only
    models = list(MODEL_ORDER)
    include_lines = []
    for m in models:
        text = model_chapter(m, [r for r in runs if r.model == m], vs, Path(site), registry, names)
        written.append(atomic.write_text(gen / f"model_{m}.qmd", text))
        include_lines.append("{{< include /_generated/model_" + m + ".qmd >}}\n")
    written.append(atomic.write_text(gen / "results.qmd", "\n".join(include_lines)))
    # the summary (glance table, forest plot, en/fi/sv sentences, rules text) comes from the verdicts
    from .summary import write_summary

    written += write_summary(runs, gen)
    written.append(atomic.write_text(gen / "participants.md",
                                     participants_table(registry) if registry is not None
                                     else "*Pilot registry not found.*\n"))
    written.append(atomic.write_text(gen / "sources.md", sources_table(manifest) if manifest else ""))
    written.append(atomic.write_text(gen / "run_table.md", run_table(runs)))
    return written
