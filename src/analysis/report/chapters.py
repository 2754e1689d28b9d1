"""Generate the report's data-driven parts from the run outputs.

Into ``<site>/_generated/``: one chapter per operating model (``model_<id>.qmd``, included by
``results.qmd``), the title block, the participants and pilot-aims tables (from
``data/reference``), the orientation map, the data-sources table (``data/raw/MANIFEST.csv``),
the data-and-methods overview and the size table of the inference methods (from the run
folders), the results overview for the summaries, the commands and the run table. Figures are
copied from the run folders, each once (a byte copy of a figure already shown becomes a
reference to it). Prose numbers are Quarto variable shortcodes (``{{< var key >}}``, see
:mod:`analysis.report.variables`); tables are formatted from ``results.json`` (schema 2).
Nothing is estimated here.
"""
from __future__ import annotations

import hashlib
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import atomic
from .runs import MODEL_ORDER, Run
from .variables import VariableSet, estimate_key, format_number, run_prefix, slug, var

#: Human names of the ``kuntakokeilu estimate --method`` names (analysis.study.ESTIMATORS).
ESTIMATOR_NAMES = {
    "did": "2×2 DiD", "twfe": "TWFE DiD", "event-study": "Event study", "sc": "Synthetic control",
    "sdid": "Synthetic DiD",
    # names of runs written before the shared vocabulary
    "did2x2": "2×2 DiD", "event_study": "Event study", "synthetic_control": "Synthetic control",
    "callaway_santanna": "Callaway–Sant'Anna", "sun_abraham": "Sun–Abraham",
    "imputation": "Imputation (Borusyak et al.)",
}
#: Human names of the ``--inference`` names (analysis.study.INFERENCE_METHODS).
INFERENCE_NAMES = {
    "cluster": "Cluster-robust SE (pilot unit)", "wild": "Wild cluster bootstrap",
    "ri": "Randomization inference", "placebo": "In-space placebo",
    "cluster_robust": "Cluster-robust SE (pilot unit)",
    "wild_cluster_bootstrap": "Wild cluster bootstrap", "wild_bootstrap": "Wild cluster bootstrap",
    "wcr": "Wild cluster bootstrap", "randomization": "Randomization inference",
    "randomization_inference": "Randomization inference", "jackknife": "Jackknife",
}
#: Human names of the control pools (analysis.study.CONTROL_POOLS).
POOL_NAMES = {
    "default": "municipalities in no pilot", "keep_other_pilots": "incl. other pilots' municipalities",
    "same_region": "same regions only", "matched": "matched on the pre-period",
}
TEST_NAMES = {"F": "joint F-test of the pre-pilot event-study coefficients",
              "placebo-in-time": "placebo-in-time test (fake pilot start before 2015)",
              "pre-rmspe": "pre-period RMSPE rank among the placebo units"}
KIND_PREFIXES = ("robustness", "multiverse", "descriptives")
#: Captions of known run figures; ``{outcome}`` is the outcome label with its unit.
KNOWN_FIGURES = {
    "trends": "{outcome} over time: pilot municipalities and comparison municipalities",
    "trends_indexed": "{outcome} over time, indexed to 2014 = 100: pilot and comparison municipalities",
    "event_study": "Event study of {outcome}: difference between pilot and comparison municipalities by "
                   "year relative to the pilot start (0 = 2015, reference year 2014){intervals}",
    "synthetic_control": "Synthetic control of {outcome}: pilot unit and its synthetic comparison",
    "synthetic_control_placebos": "Synthetic control in-space placebos of {outcome}: gap of the pilot "
                                  "unit (highlighted) and of each donor given the same treatment",
    "honest_did": "HonestDiD sensitivity of {outcome}: 95% interval of the 2015–2016 "
                  "effect when post-period trend violations may be up to M̄ times the largest "
                  "pre-period change",
    "specification_curve": "Specification curve of {outcome}: the estimate under every combination "
                           "of analysis choices, sorted, with 95% intervals",
    "specification_curve_log": "Specification curve of the logarithm of {outcome}: the estimate "
                               "(log points, about the relative change) under every combination of "
                               "analysis choices, sorted, with 95% intervals",
}
MINUS = "\u2212"


# --------------------------------------------------------------------------- small helpers
def name_estimator(e: Any) -> str:
    return ESTIMATOR_NAMES.get(str(e), str(e).replace("_", " ").replace("-", " ").capitalize())


def name_inference(i: Any) -> str:
    if i is None or str(i).lower() in ("none", "nan", ""):
        return "none (point estimate only)"
    return INFERENCE_NAMES.get(str(i), str(i).replace("_", " ").capitalize())


def name_pool(p: Any) -> str:
    return POOL_NAMES.get(str(p), str(p).replace("_", " "))


def label(*parts: str) -> str:
    """Quarto cross-reference label text (letters, digits and hyphens)."""
    return "-".join(slug(p).replace("_", "-") for p in parts)


def typographic(text: str, thousands: bool = True) -> str:
    """Report typography of a formatted number: U+2212 minus, ``< 0.001``, thousands commas."""
    t = str(text)
    if t.startswith("<"):
        return "< " + t[1:].strip()
    neg = t.startswith("-") or t.startswith(MINUS)
    body = t[1:] if neg else t
    if thousands and re.fullmatch(r"\d{4,}(\.\d+)?", body):
        whole, _, frac = body.partition(".")
        body = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return (MINUS if neg else "") + body


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _num(x: Any, kind: str = "estimate") -> str:
    if not _finite(x):
        return "–"
    return typographic(format_number(x, kind)[0], thousands=kind != "year")


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def breakable(text: str, every: int = 16) -> str:
    """Insert zero-width spaces into long unbroken strings (hashes) so narrow columns wrap."""
    return re.sub(r"([0-9a-fA-F]{%d})(?=[0-9a-fA-F])" % every, "\\1\u200b", str(text))


def pipe_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def lower_first(text: str) -> str:
    """Lower-case the first letter of a label unless it starts an acronym ("EUR", "TEM")."""
    t = str(text)
    return t[:1].lower() + t[1:] if len(t) > 1 and not t[1:2].isupper() else t


def plural(n: Any, one: str, many: str | None = None) -> str:
    many = many or one + "s"
    return one if _finite(n) and int(n) == 1 else many


def unit_text(res: dict[str, Any]) -> str:
    """The outcome unit for prose and captions ("€ per inhabitant", "percentage points")."""
    unit = str(res.get("unit_label") or "").replace("EUR", "€")
    if res.get("unit_kind") == "percent" or unit.startswith("%") or unit.lower() == "percent":
        return "percentage points"
    return unit


def _estimates(res: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in res.get("estimates") or [] if isinstance(e, dict)]


def headline_estimate(res: dict[str, Any]) -> dict[str, Any] | None:
    """The run's headline row, chosen exactly as the verdicts choose it (schema 2: the
    ``headline`` id or the row with role ``headline``; older results: the most conservative
    inference run)."""
    from ..verdicts import headline_row

    return headline_row(res)


# the name older callers use
preferred_estimate = headline_estimate


def _design(res: dict[str, Any]) -> dict[str, Any]:
    d = res.get("design")
    return d if isinstance(d, dict) else res


# --------------------------------------------------------------------------- grouping of runs
def run_kind(run: Run) -> str:
    res = run.results or {}
    if res.get("kind"):
        return str(res["kind"])
    first = run.run_id.split("__")[0]
    if first in KIND_PREFIXES:
        return first
    if run.run_id.startswith("data_audit") or first == "audit":
        return "audit"
    return "evaluation"


def run_model_outcome(run: Run) -> tuple[str, str | None]:
    res = run.results or {}
    params = run.run.get("parameters") or {}
    parts = run.run_id.split("__")
    if parts[0] in KIND_PREFIXES:
        parts = parts[1:]
    model = res.get("model") or params.get("model") or parts[0]
    outcome = res.get("outcome") or params.get("outcome") or (parts[1] if len(parts) > 1 else None)
    return str(model), (str(outcome) if outcome else None)


@dataclass
class OutcomeRuns:
    """The runs about one model and outcome: its evaluation, robustness and multiverse runs."""

    model: str
    outcome: str
    evaluation: Run | None = None
    robustness: list[Run] = field(default_factory=list)
    multiverse: list[Run] = field(default_factory=list)

    @property
    def results(self) -> dict[str, Any]:
        for r in [self.evaluation, *self.robustness, *self.multiverse]:
            if r is not None and r.ok:
                return r.results or {}
        return {}

    @property
    def runs(self) -> list[Run]:
        return [r for r in [self.evaluation, *self.robustness, *self.multiverse] if r is not None]


def group_runs(runs: list[Run]) -> tuple[dict[str, list[OutcomeRuns]], list[Run]]:
    """``({model: [OutcomeRuns]}, other runs)``; merged by ``model`` + ``outcome``."""
    groups: dict[tuple[str, str], OutcomeRuns] = {}
    other: list[Run] = []
    for run in runs:
        kind = run_kind(run)
        model, outcome = run_model_outcome(run)
        if kind in ("descriptives", "audit") or outcome is None:
            other.append(run)
            continue
        g = groups.setdefault((model, outcome), OutcomeRuns(model, outcome))
        if kind == "robustness":
            g.robustness.append(run)
        elif kind == "multiverse":
            g.multiverse.append(run)
        elif g.evaluation is None:
            g.evaluation = run
        else:  # a second evaluation run of the same outcome: keep it as its own group
            groups[(model, f"{outcome}__{run.run_id}")] = OutcomeRuns(model, outcome, evaluation=run)
    by_model: dict[str, list[OutcomeRuns]] = {}
    for g in groups.values():
        by_model.setdefault(g.model, []).append(g)
    return by_model, other


# --------------------------------------------------------------------------- reference data
def load_registry(reference_dir: Path) -> pd.DataFrame | None:
    path = Path(reference_dir) / "kuntakokeilu_participants_1350_2014.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str)


def load_reference(reference_dir: Path, name: str) -> pd.DataFrame | None:
    path = Path(reference_dir) / name
    return pd.read_csv(path, dtype=str) if path.exists() else None


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


def aims_section(aims: pd.DataFrame | None, names) -> str:
    """What each pilot aimed at and changed, and where that should show in the outcomes."""
    if aims is None:
        return "*The summary of the pilots' aims (`data/reference/pilot_aims.csv`) was not found.*\n"
    rows = []
    for m in MODEL_ORDER:
        r = aims[aims["model_id"] == m]
        if r.empty:
            continue
        r = r.iloc[0]
        rows.append([names.get(m, (m,))[0], r["aim_en"], r["changed_en"], r["where_it_should_show"]])
    return (pipe_table(["Operating model", "Aim", "What changed", "Where it should show"], rows)
            + "\n: What each pilot aimed at and changed, summarised from the Ministry of Finance's "
              "project description [@vm_kuntakokeilut], and the outcomes in which an effect should "
              "show. {#tbl-aims}\n")


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
              "(see @sec-limitations).")


def sources_table(manifest: Path) -> str:
    if not Path(manifest).exists():
        return "*The data manifest `data/raw/MANIFEST.csv` was not found.*\n"
    m = pd.read_csv(manifest, dtype=str)
    # file names with zero-width spaces after "_" and "." so that narrow PDF columns can wrap them
    rows = [[r.file.replace("_", "\\_\u200b").replace(".", ".\u200b"), r.source.split(";")[0], r.licence,
             r.attribution] for r in m.itertuples()]
    return (pipe_table(["File", "Source", "Licence", "Attribution"], rows)
            + "\n: Raw data snapshots shipped with the repository (from `data/raw/MANIFEST.csv`). {#tbl-sources}\n")


# --------------------------------------------------------------------------- figures
class Figures:
    """Copies run figures into the site once; a byte copy of a shown figure is not shown again."""

    def __init__(self, site: Path):
        self.site = Path(site)
        self.seen: dict[str, str] = {}

    def add(self, path: Path, fig_id: str, caption: str) -> tuple[str, str]:
        """``(markdown, reference)``; markdown is empty when the figure was already shown."""
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest in self.seen:
            return "", f"@{self.seen[digest]}"
        self.seen[digest] = fig_id
        target = self.site / "_generated" / "figures" / f"{fig_id.removeprefix('fig-')}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        rel = target.relative_to(self.site).as_posix()
        return f"![{caption}]({rel}){{#{fig_id}}}\n", f"@{fig_id}"


def _outcome_phrase(res: dict[str, Any]) -> str:
    lab = res.get("outcome_label") or str(res.get("outcome") or "the outcome").replace("_", " ")
    unit = str(res.get("unit_label") or "").replace("EUR", "€")
    return f"{lower_first(lab)} ({unit})" if unit else lower_first(lab)


def figure_caption(name: str, res: dict[str, Any], catalogue: pd.DataFrame | None = None) -> str:
    """A human caption for a run figure (no file names, no snake_case)."""
    base, outcome = name, None
    for known in sorted(KNOWN_FIGURES, key=len, reverse=True):
        if name == known or name.startswith(known + "_"):
            base, outcome = known, name[len(known) + 1:] or None
            break
    phrase = _outcome_phrase(res)
    if outcome and catalogue is not None:
        hit = catalogue[catalogue["variable"] == outcome]
        if not hit.empty:
            unit = str(hit["unit"].iloc[0]).replace("EUR", "€")
            phrase = f"{lower_first(hit['label_en'].iloc[0])} ({unit})"
    elif outcome:
        phrase = outcome.replace("_", " ")
    if base not in KNOWN_FIGURES:
        return name.replace("_", " ").capitalize() + "."
    intervals = ""
    if base == "event_study":
        rows = ((res.get("event_study") or {}).get("rows") if isinstance(res.get("event_study"), dict)
                else res.get("event_study")) or []
        has_ci = any(_finite(r.get("ci_low")) and _finite(r.get("ci_high")) and r.get("ci_low") != r.get("ci_high")
                     for r in rows if isinstance(r, dict))
        intervals = (", with 95% confidence intervals" if has_ci or not rows
                     else "; point estimates only (the design gives no interval per year)")
    text = KNOWN_FIGURES[base].format(outcome=phrase, intervals=intervals)
    return text[0].upper() + text[1:] + "."


# --------------------------------------------------------------------------- per-outcome parts
TERM_NAMES = {"post": "2015–2016", "pilot_2015_2016": "2015–2016", "post_pilot_2017_on": "2017 onwards",
              "att": "2015–2016"}


def name_term(t: Any) -> str:
    return TERM_NAMES.get(str(t), str(t).replace("_", " "))


def estimates_table(res: dict[str, Any], tbl: str, roles=("headline", "estimate", None)) -> str:
    rows = []
    best = headline_estimate(res)
    ests = [e for e in _estimates(res) if e.get("role") in roles]
    ests.sort(key=lambda e: e is not best)
    terms = len({str(e.get("term")) for e in ests}) > 1
    for e in ests:
        ci = (f"[{_num(e.get('ci_low'))}, {_num(e.get('ci_high'))}]"
              if _finite(e.get("ci_low")) and _finite(e.get("ci_high")) else "–")
        clusters = f"{_num(e.get('n_treated_clusters'), 'count')} / {_num(e.get('n_clusters'), 'count')}"
        name = name_estimator(e.get("estimator"))
        rows.append([f"**{name}** (headline)" if e is best else name, name_inference(e.get("inference")),
                     *([name_term(e.get("term"))] if terms else []), _num(e.get("estimate")),
                     _num(e.get("se")), ci, _num(e.get("p_value"), "p"), clusters])
    if not rows:
        return ""
    return (pipe_table(["Estimator", "Inference", *(["Period"] if terms else []), "Estimate", "SE", "95% CI",
                        "p-value", "Treated / all clusters"], rows,
                       ["l", "l", *(["l"] if terms else []), "r", "r", "r", "r", "r"])
            + f"\n: Estimated effect on {_outcome_phrase(res)}, every estimator and inference method "
              f"run; the headline row first. SE = standard error (– where the method gives none); "
              f"clusters are pilot units. {{#{tbl}}}\n")


def robustness_table(rows: list[dict[str, Any]], res: dict[str, Any], tbl: str) -> str:
    body = []
    for e in rows:
        what = human_ids(str(e.get("variant") or f"{name_estimator(e.get('estimator'))}, "
                                                   f"{name_pool(e.get('control_pool'))}"), {})
        ci = (f"[{_num(e.get('ci_low'))}, {_num(e.get('ci_high'))}]"
              if _finite(e.get("ci_low")) and _finite(e.get("ci_high")) else "–")
        body.append([str(what)[0].upper() + str(what)[1:], name_inference(e.get("inference")),
                     _num(e.get("estimate")), ci, _num(e.get("p_value"), "p")])
    return (pipe_table(["Variant", "Inference", "Estimate", "95% CI", "p-value"], body,
                       ["l", "l", "r", "r", "r"])
            + f"\n: Robustness of the estimate on {_outcome_phrase(res)}: other control pools and "
              f"series choices, and placebo pilot starts before 2015 (which should show no effect). {{#{tbl}}}\n")


def honest_did_text(hd: Any, res: dict[str, Any]) -> str:
    if not isinstance(hd, dict) or not hd:
        return "HonestDiD: not reported for this outcome."
    if hd.get("reason"):
        return f"HonestDiD [@rambachan2023] is not reported: {hd['reason']}."
    b = hd.get("breakdown_mbar")
    if _finite(b) and b == 0:
        return ("HonestDiD [@rambachan2023]: the 95% interval of the 2015–2016 effect excludes zero only "
                "when post-period trends are exactly parallel (M̄ = 0); the next grid value of M̄ "
                "already includes zero, so the conclusion is fragile.")
    if _finite(b) and b > 0:
        return (f"HonestDiD [@rambachan2023]: the 95% interval of the 2015–2016 effect keeps excluding zero "
                f"until post-period trend violations reach M̄ = {_num(b)} times the largest pre-period "
                "change (the breakdown value; small values mean the conclusion is fragile).")
    return ("HonestDiD [@rambachan2023]: the interval includes zero already without trend violations "
            "(no breakdown value).")


def power_text(power: Any, res: dict[str, Any]) -> str:
    if not isinstance(power, dict) or not power:
        return "Power: no minimum detectable effect was computed for this design."
    if power.get("reason"):
        return f"Power: no minimum detectable effect is reported: {power['reason']}."
    mde = power.get("mde")
    if not _finite(mde):
        return "Power: no minimum detectable effect is reported."
    draws = power.get("draws")
    how = (f" ({_num(draws, 'count')} placebo assignments to units shaped like the pilot units)"
           if _finite(draws) else "")
    pw = power.get("power", 0.8)
    pw_text = f"{round(100 * pw):d}%" if _finite(pw) else "80%"
    return (f"Power: the minimum detectable effect (MDE) at {pw_text} power and "
            f"5% significance is {_num(mde)} {unit_text(res)}{how}; smaller effects would usually go "
            "unnoticed.")


#: outcome scales of a specification curve, for prose
SCALE_NAMES = {"level": "In levels", "log": "In logs"}


def _p_phrase(p: float) -> str:
    return f"p {'<' if p < 0.001 else '='} {_num(p, 'p').lstrip('< ')}"


def multiverse_text(mv: Any, res: dict[str, Any]) -> str:
    """The specification curve of a multiverse run in prose: per outcome scale the number of
    specifications, the median estimate and range, and the joint test (Simonsohn, Simmons &
    Nelson 2020) of the median and of the share significant; and how many of the joint test's
    SDID placebo fits stopped at the Frank-Wolfe iteration cap. Empty without curves."""
    if not isinstance(mv, dict) or not isinstance(mv.get("curves"), dict):
        return ""
    parts = []
    for scale, c in mv["curves"].items():
        curve, jt = (c or {}).get("curve") or {}, (c or {}).get("joint_test") or {}
        if not (_finite(curve.get("n_estimated")) and _finite(curve.get("median_estimate"))):
            continue
        unit = unit_text(res) if scale == "level" else "log points"
        text = (f"{SCALE_NAMES.get(scale, str(scale))}: {_num(curve['n_estimated'], 'count')} "
                f"specifications, median estimate {_num(curve['median_estimate'])} {unit} (from "
                f"{_num(curve.get('min_estimate'))} to {_num(curve.get('max_estimate'))})")
        stats = jt.get("statistics") or {}
        median, share = stats.get("median_estimate") or {}, stats.get("share_significant") or {}
        if _finite(median.get("p_value")) and _finite(jt.get("draws")):
            text += (f"; joint test over {_num(jt['draws'], 'count')} placebo assignments: "
                     f"median estimate {_p_phrase(median['p_value'])}")
            if _finite(share.get("observed")) and _finite(share.get("p_value")):
                text += (f"; share of specifications significant at 5% (by their randomization "
                         f"p-values over the same draws) {_num(100 * share['observed'], 'count')}%, "
                         f"{_p_phrase(share['p_value'])}")
        parts.append(text + ".")
    if not parts:
        return ""
    conv = mv.get("sdid_placebo_convergence") or {}
    if _finite(conv.get("fits")) and _finite(conv.get("not_converged")) and conv["not_converged"] > 0:
        parts.append(f"Of the joint test's {_num(conv['fits'], 'count')} SDID placebo fits, "
                     f"{_num(conv['not_converged'], 'count')} stopped at the "
                     f"{_num(conv.get('max_iter', 10_000), 'count')}-iteration cap of the "
                     "Frank–Wolfe weights before converging, as R synthdid's would.")
    return ("### Specification curve\n\nEvery combination of the reasonable analysis choices "
            "(control pool, window, estimator, outcome scale, population weighting, covariates, "
            "series breaks) is estimated, and the whole curve is tested against placebo "
            "assignments to units shaped like the pilot units [@simonsohn2020]. "
            + " ".join(parts) + "\n")


def pretrend_text(pre: Any, res: dict[str, Any]) -> str:
    if not isinstance(pre, dict) or not pre:
        p = res.get("pretrend_p_value")
        pre = {"test": "F", "p_value": p} if _finite(p) else {}
    if not pre:
        return "Pre-trends: no pre-trend test is reported for this outcome."
    if pre.get("reason"):
        return f"Pre-trends: no test is reported: {pre['reason']}."
    p = pre.get("p_value")
    test = TEST_NAMES.get(str(pre.get("test")), str(pre.get("test")))
    if not _finite(p):
        return f"Pre-trends: the {test} gave no p-value."
    verdict = ("does not reject parallel pre-trends at the 5% level (with few clusters such a test has "
               "little power, so this is weak reassurance)" if p >= 0.05 else
               "rejects parallel pre-trends at the 5% level, so the difference-in-differences "
               "estimates are doubtful")
    return f"Pre-trends: the {test} (p {'<' if p < 0.001 else '='} {_num(p, 'p').lstrip('< ')}) {verdict}."


def reading(res: dict[str, Any], vs: VariableSet, prefix: str) -> str:
    """A plain description of the headline row; judgements are the verdicts' (summary)."""
    best = headline_estimate(res)
    if best is None:
        return "No estimate was produced for this outcome, so nothing can be concluded about an effect."
    k = f"{prefix}.{estimate_key(best, _estimates(res))}"
    unit = unit_text(res)
    desc = (f"The headline estimate ({name_estimator(best.get('estimator'))}, "
            f"{name_inference(best.get('inference')).lower()}) is {var(k + '.estimate')} {unit}")
    if f"{k}.ci_low" in vs and f"{k}.ci_high" in vs:
        desc += f", 95% confidence interval {var(k + '.ci_low')} to {var(k + '.ci_high')}"
    if f"{k}.p_value" in vs:
        desc += f" (p = {var(k + '.p_value')})"
    out = [desc + "."]
    if res.get("headline_reason"):
        out.append(f"Why this row is the headline: {res['headline_reason']}.")
    n_t = _design(res).get("n_treated_units")
    if _finite(n_t) and n_t <= 1:
        out.append("With a single treated unit there is no cluster-robust standard error; inference "
                   "rests on placebo comparisons with the donor municipalities.")
    return " ".join(out)


def _legacy_checks(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a robustness run written before schema 2 (``robustness.checks``)."""
    rob = res.get("robustness")
    checks = rob.get("checks") if isinstance(rob, dict) else None
    names = {"placebo_adoption_year": "fake pilot start", "leave_one_unit_out": "without pilot unit",
             "control_pool": "control pool", "baseline": "baseline"}
    rows = []
    for c in checks or []:
        if not isinstance(c, dict) or c.get("check") == "baseline":
            continue
        what = human_ids(f"{names.get(c.get('check'), str(c.get('check')).replace('_', ' '))} {c.get('variant')}", {})
        rows.append({"variant": what.replace("_", " "), "estimate": c.get("estimate"),
                     "ci_low": c.get("ci_low"), "ci_high": c.get("ci_high"), "p_value": c.get("p_value"),
                     "inference": c.get("inference")})
    return rows


def _first(g: OutcomeRuns, key: str) -> Any:
    """``key`` of the evaluation run, else of the first robustness run that reports it. When no
    run reports it, the last run's reason for its absence (``{"reason": ...}``): the evaluation
    run only points to the robustness run, which says why."""
    absent = None
    for r in [g.evaluation, *g.robustness]:
        if r is not None and r.ok:
            v = (r.results or {}).get(key)
            if isinstance(v, dict) and v and set(v) <= {"reason"}:
                absent = v
                continue
            if v:
                return v
            rob = (r.results or {}).get("robustness")
            if key == "honest_did" and isinstance(rob, dict) and isinstance(rob.get("breakdown_value"), dict):
                b = rob["breakdown_value"].get("relative_magnitude_Mbar")
                return {"breakdown_mbar": b} if _finite(b) and b > 0 else {"rows": rob.get("honest_did")}
    return absent


UNIT_NAMES: dict[str, str] = {}
#: ``{(model, outcome): GlanceRow}`` of this build (analysis.report.summary), set by :func:`generate`.
VERDICTS: dict = {}
MODEL_NAMES: dict[str, str] = {}


def human_ids(text: str, names) -> str:
    """Model and pilot-unit ids in free text (run notes, variants) replaced by their names."""
    for m in sorted(names, key=len, reverse=True):
        text = re.sub(rf"\b{m}\b", lower_first(names[m][0]), text)
    for u in sorted(UNIT_NAMES, key=len, reverse=True):
        text = re.sub(rf"\b{u}\b", UNIT_NAMES[u], text)
    for p, name in {**POOL_NAMES, "non_pilot": "municipalities in no pilot"}.items():
        if "_" in p:
            text = re.sub(rf"\b{p}\b", name, text)
    return text


def outcome_section(g: OutcomeRuns, vs: VariableSet, figs: Figures, catalogue, commands: list,
                    names=None) -> str:
    names = names or {}
    ev = g.evaluation
    res = g.results
    lab = res.get("outcome_label") or g.outcome.replace("_", " ").capitalize()
    sec = label(g.model, g.outcome)
    lines = [f"## {lab} {{#sec-{sec}}}\n"]
    if ev is not None and not ev.ok:
        err = ev.run.get("error") or "no results.json"
        lines.append("::: {.callout-warning title=\"Run failed\"}\n"
                     f"The evaluation run of this outcome did not produce results (run `{ev.run_id}`: "
                     f"{_md_escape(err)}). Nothing is reported for this outcome.\n:::\n")
        return "\n".join(lines)
    if ev is None and not res:
        return ""
    prefix = run_prefix(ev) if ev is not None else ""
    d = _design(res)
    parts = []
    if _finite(d.get("n_treated_units")):
        n = d["n_treated_units"]
        parts.append(f"{var(prefix + '.n_treated_units') if prefix + '.n_treated_units' in vs else _num(n, 'count')} "
                     f"treated pilot {plural(n, 'unit')}")
        if _finite(d.get("n_treated_municipalities")):
            parts[-1] += (f" ({_num(d['n_treated_municipalities'], 'count')} "
                          f"{plural(d['n_treated_municipalities'], 'municipality', 'municipalities')})")
    if _finite(d.get("n_control_municipalities")):
        parts.append(f"{_num(d['n_control_municipalities'], 'count')} comparison municipalities "
                     f"({name_pool(d.get('control_pool', 'default'))})")
    years = d.get("years") or []
    if len(years) == 2:
        parts.append(f"years {_num(years[0], 'year')}–{_num(years[1], 'year')}")
    unit = str(res.get("unit_label") or "").replace("EUR", "€")
    if parts:
        lines.append("Design: " + "; ".join(parts) + (f". Outcome unit: {unit}." if unit else ".") + "\n")
    # figures, each once
    shown, refs = [], []
    for run in g.runs:
        if not run.ok:
            continue
        fres = dict(res, **{k: v for k, v in (run.results or {}).items() if k == "event_study" and v})
        order = {n: i for i, n in enumerate(KNOWN_FIGURES)}
        for path in sorted(run.figures, key=lambda p: (order.get(p.stem, 99), p.stem)):
            md, ref = figs.add(path, f"fig-{label(g.model, g.outcome, path.stem)}",
                               figure_caption(path.stem, fres, catalogue))
            shown.append(md)
            refs.append(ref)
    if refs:
        lines.append(("Figures: " if len(refs) > 1 else "Figure: ") + ", ".join(dict.fromkeys(refs)) + ".\n")
    lines += [m for m in shown if m]
    tbl = f"tbl-{label(g.model, g.outcome, 'estimates')}"
    table = estimates_table(res, tbl)
    if table:
        lines.append(f"### Estimates\n\n@{tbl} lists every estimate of the evaluation run.\n")
        lines.append(table)
        best = headline_estimate(res)
        if best is not None and best.get("command"):
            lines.append(f"The headline row is reproduced by running, in the run folder "
                         f"`{ev.run_id if ev else ''}`:\n\n```\n{best['command']}\n```\n")
    for run in g.runs:
        for e in _estimates(run.results or {}):
            if e.get("command"):
                commands.append((res.get("outcome_label") or g.outcome, g.model, run.run_id, e))
    warnings = sorted({w for e in _estimates(res) for w in e.get("warnings") or []})
    if warnings:
        lines.append("::: {.callout-note title=\"Warnings from the estimators\"}\n"
                     + "\n".join(f"- {_md_escape(w)}" for w in warnings) + "\n:::\n")
    sc = res.get("synthetic_control")
    if isinstance(sc, dict) and sc:
        lines.append("### Synthetic control\n")
        if _finite(sc.get("placebo_p_value")):
            text = f"The in-space placebo p-value is {_num(sc['placebo_p_value'], 'p')}"
            if _finite(sc.get("n_donors")):
                text += (f" (smallest attainable with {_num(sc['n_donors'], 'count')} donors: "
                         f"{_num(1.0 / (sc['n_donors'] + 1.0), 'p')})")
            lines.append(text + ".\n")
        weights = sc.get("weights") or {}
        if weights:
            rows = [[k, _num(v)] for k, v in sorted(weights.items(), key=lambda kv: -kv[1])[:10]]
            lines.append(pipe_table(["Donor", "Weight"], rows, ["l", "r"])
                         + f"\n: Largest synthetic-control donor weights, {_outcome_phrase(res)}. "
                           f"{{#tbl-{label(g.model, g.outcome, 'weights')}}}\n")
    # checks: pre-trends, robustness, HonestDiD, power
    rob_rows = [e for r in g.robustness if r.ok for e in _estimates(r.results or {})]
    rob_rows += [e for r in g.robustness if r.ok and not _estimates(r.results or {})
                 for e in _legacy_checks(r.results or {})]
    rob_rows += [e for e in _estimates(res) if e.get("role") in ("robustness", "placebo_year")]
    lines.append("### Pre-trends, robustness and power\n")
    lines.append(pretrend_text(res.get("pretrend"), res) + "\n")
    if rob_rows:
        rtbl = f"tbl-{label(g.model, g.outcome, 'robustness')}"
        lines.append(f"@{rtbl} shows the robustness variants.\n")
        lines.append(robustness_table(rob_rows, res, rtbl))
    else:
        lines.append("Robustness: no robustness run of this outcome is in the run folder.\n")
    lines.append(honest_did_text(_first(g, "honest_did"), res) + "\n")
    lines.append(power_text(_first(g, "power"), res) + "\n")
    curve = multiverse_text(next((r.results.get("multiverse") for r in g.multiverse
                                  if r.ok and (r.results or {}).get("multiverse")), None), res)
    if curve:
        lines.append(curve)
    if _estimates(res) and ev is not None:
        lines.append("### What the estimate says\n")
        lines.append(reading(res, vs, prefix) + "\n")
    verdict = VERDICTS.get((g.model, g.outcome))
    if verdict is not None:
        from .summary import verdict_markdown

        lines.append("::: {.callout-important title=\"Verdict\"}\n" + verdict_markdown(verdict) + ":::\n")
    for n in res.get("notes") or []:
        lines.append(f"*Note:* {_md_escape(human_ids(str(n), names))}\n")
    return "\n".join(lines)


def model_chapter(model: str, groups: list[OutcomeRuns], vs: VariableSet, figs: Figures, registry, names,
                  aims, catalogue, commands, descriptive: list[Run]) -> str:
    en, fi = names.get(model, (model, ""))
    lines = [f"# {en} {{#sec-model-{label(model)}}}\n"]
    if fi:
        lines.append(f"*{fi}*.\n")
    if registry is not None:
        units = sorted(set(registry.loc[registry["model_id"] == model, "unit_fi"]))
        lines.append("Participating units: " + "; ".join(units) + ". " + overlap_sentence(registry, model, names) + "\n")
    if aims is not None and not aims[aims["model_id"] == model].empty:
        a = aims[aims["model_id"] == model].iloc[0]
        lines.append(f"Aim: {a['aim_en']} Where it should show: {a['where_it_should_show']}\n")
    if not groups:
        why = ("This is a process pilot (it relaxed supervision obligations); the shipped data hold no "
               "outcome series that measures what it changed. " if model == "supervision" else "")
        lines.append("::: {.callout-note title=\"No impact estimate\"}\n" + why
                     + "No evaluation run of this model is in the run folder, so this chapter is "
                       "descriptive only and nothing can be concluded about the model's effects.\n:::\n")
    for g in groups:
        lines.append(outcome_section(g, vs, figs, catalogue, commands, names))
    extra = []
    for run in descriptive:
        for path in run.figures if run.ok else []:
            md, _ = figs.add(path, f"fig-{label(model, 'descriptives', path.stem)}",
                             figure_caption(path.stem, {}, catalogue))
            if md:
                extra.append(md)
    if extra:
        lines.append("## Descriptive figures\n\nFurther outcome series of this model's municipalities "
                     "(descriptive only; no estimate).\n")
        lines += extra
    return "\n".join(lines)


# --------------------------------------------------------------------------- overview tables
def overview_table(by_model: dict[str, list[OutcomeRuns]], names, catalogue) -> str:
    """Data-and-methods overview: one row per evaluated outcome."""
    rows = []
    for m in MODEL_ORDER + sorted(set(by_model) - set(MODEL_ORDER)):
        for g in by_model.get(m, []):
            res = g.results
            if not res:
                continue
            d = _design(res)
            src = "–"
            if catalogue is not None:
                hit = catalogue[catalogue["variable"] == g.outcome]
                if not hit.empty:
                    src = {"statfin": "Statistics Finland", "sotkanet": "Sotkanet (THL)",
                           "shipped": "Haaga et al. (2024)"}.get(hit["source"].iloc[0], hit["source"].iloc[0])
            years = d.get("years") or []
            yrs = f"{_num(years[0], 'year')}–{_num(years[1], 'year')}" if len(years) == 2 else "–"
            best = headline_estimate(res)
            treated = (f"{_num(d.get('n_treated_units'), 'count')} / {_num(d.get('n_treated_municipalities'), 'count')}")
            rows.append([names.get(m, (m,))[0], res.get("outcome_label") or g.outcome.replace("_", " "), src, yrs,
                         treated, _num(d.get("n_control_municipalities"), "count"),
                         name_estimator(best.get("estimator")) if best else "–",
                         name_inference(best.get("inference")) if best else "–"])
    if not rows:
        return "*No evaluation run is in the run folder.*\n"
    return (pipe_table(["Model", "Outcome", "Source", "Years", "Treated units / municipalities",
                        "Comparison municipalities", "Headline estimator", "Headline inference"],
                       rows, ["l", "l", "l", "l", "r", "r", "l", "l"])
            + "\n: Data and methods at a glance: every evaluated outcome, its source and years, the "
              "treated pilot units and municipalities, the comparison municipalities, and the "
              "estimator and inference method of the headline estimate. {#tbl-overview}\n")


def names_of(model: str) -> str:
    return MODEL_NAMES.get(model, model.replace("_", " "))


def size_table(by_model: dict[str, list[OutcomeRuns]]) -> str:
    """Rejection rates of each inference method under no effect, on the real panel's layouts."""
    rows, layouts = [], []
    for gs in by_model.values():
        for g in gs:
            for s in g.results.get("size") or []:
                lay = str(s.get("layout") or "–")
                if lay not in layouts:
                    layouts.append(lay)
    for m in MODEL_ORDER + sorted(set(by_model) - set(MODEL_ORDER)):
        for g in by_model.get(m, []):
            res = g.results
            size = res.get("size") or []
            if not size:
                continue
            best = headline_estimate(res) or {}
            methods: dict[tuple, dict] = {}
            for s in size:
                methods.setdefault((s.get("estimator"), s.get("inference")), {})[str(s.get("layout") or "–")] = s
            for (est, inf), by_layout in methods.items():
                head = inf == best.get("inference") and est == best.get("estimator")
                draws = {_num(s.get("draws"), "count") for s in by_layout.values()}
                rows.append([res.get("outcome_label") or g.outcome,
                             f"{name_estimator(est)}, {name_inference(inf).lower()}" + (" **(headline)**" if head else ""),
                             *[(f"{_num(by_layout[l].get('rejection_rate'), 'p')} ± {_num(by_layout[l].get('mc_se'), 'p')}"
                                if l in by_layout else "–") for l in layouts],
                             ", ".join(sorted(draws))])
    missing = [f"- {g.results.get('outcome_label') or g.outcome} ({lower_first(names_of(m))}): "
               f"{g.results['size_reason']}" for m in MODEL_ORDER for g in by_model.get(m, [])
               if not g.results.get("size") and g.results.get("size_reason")]
    not_measured = ("\nSize not measured:\n\n" + "\n".join(missing) + "\n") if missing else ""
    if not rows:
        return ("*No run reports the size of its inference methods, so the choice of headline inference "
                "is not backed by a size check on this panel.*\n" + not_measured)
    return ("@tbl-size gives the rejection rates of every method and placebo layout.\n\n"
            + pipe_table(["Outcome", "Estimator and inference",
                          *[f"Rejection rate, {l.replace('_', ' ')} placebo units" for l in layouts], "Draws"],
                       rows, ["l", "l", *["r"] * len(layouts), "r"])
            + "\n: Size of each inference method on the real panel: the share of placebo assignments (no "
              "true effect; placebo units shaped like the pilot units, by each placebo construction) in "
              "which the method rejects at the 5% level, ± its Monte Carlo standard error. A method that "
              "keeps its size rejects in about 5% of draws. {#tbl-size}\n" + not_measured)


def headline_rules(by_model: dict[str, list[OutcomeRuns]]) -> str:
    reasons = sorted({str(g.results.get("headline_reason")) for gs in by_model.values() for g in gs
                      if g.results.get("headline_reason")})
    if not reasons:
        return ""
    return ("The headline inference of each outcome was picked by these rules (as recorded by the runs):\n\n"
            + "\n".join(f"- {r[0].upper() + r[1:]}." for r in reasons) + "\n")


def commands_list(commands: list) -> str:
    if not commands:
        return "*No run recorded a command.*\n"
    out, last = [], None
    for outcome, model, run_id, e in commands:
        if (model, run_id) != last:
            out.append(f"\n**{outcome}** ({model.replace('_', ' ')}; run folder `{run_id}`):\n")
            last = (model, run_id)
        what = e.get("variant") or f"{name_estimator(e.get('estimator'))}, {name_inference(e.get('inference')).lower()}"
        out.append(f"- {what}: `{e['command']}`")
    return "\n".join(out) + "\n"


def run_table(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        secs = r.run.get("seconds")
        status = r.run.get("status", "?")
        rows.append([f"`{r.run_id}`", status, _num(secs) if secs is not None else "–",
                     f"`{breakable((r.run.get('input_hash') or '')[:16])}`" if r.run.get("input_hash") else "–",
                     _md_escape(r.run.get("error") or "")])
    return (pipe_table(["Run", "Status", "Seconds", "Input hash (first 16)", "Error"], rows,
                       ["l", "l", "r", "l", "l"])
            + "\n: Every executed run (from `run.json`); the run folder holds its parameters and the "
              "executed notebook. {#tbl-run-table}\n")


def title_meta(runs: list[Run], version: str, contact: str) -> dict[str, str]:
    """Title-page texts (``meta.*`` variables): version, date of the data, contact."""
    years = [y for r in runs if r.ok for y in (_design(r.results or {}).get("years") or [])
             if _finite(y)]
    commits = sorted({str(r.run.get("git_commit"))[:12] for r in runs if r.run.get("git_commit")})
    finished = sorted(str(r.run.get("finished"))[:10] for r in runs if r.run.get("finished"))
    return {
        "version": version + (f" (runs from commit {', '.join(commits)})" if commits else ""),
        "data": ("public statistics shipped with the repository (sha256-checked), outcome years "
                 + (f"{_num(min(years), 'year')}–{_num(max(years), 'year')}" if years else "–")
                 + f"; runs executed {finished[-1] if finished else '–'}"),
        "contact": contact,
    }


def title_block() -> str:
    """The HTML-only link to the PDF, under the title."""
    return ("::: {.content-visible when-format=\"html\"}\n"
            "Other formats: [PDF (report.pdf)](report.pdf){.formats}\n:::\n")


# --------------------------------------------------------------------------- orientation map
def map_figure(by_model: dict[str, list[OutcomeRuns]], registry, names, figs: Figures, raw_dir: Path) -> str:
    """Orientation map (pilot and comparison municipalities per model) from the run folders."""
    from .. import raw as raw_data
    from ..errors import InputError
    from ..plots import map as map_plot

    try:
        municipalities = map_plot.read_boundaries(raw_data.raw_path("mml_kuntarajat.2023.json", raw_dir))
        regions = map_plot.read_boundaries(raw_data.raw_path("mml_maakuntarajat.2023.json", raw_dir))
    except (InputError, OSError, KeyError) as exc:
        return f"*The orientation map could not be drawn: {exc}.*\n"
    panels = []
    for m in MODEL_ORDER:
        roles: dict[str, str] = {}
        for g in by_model.get(m, []):
            for run in [g.evaluation, *g.robustness]:
                frame = (run.folder / str((run.results or {}).get("frame") or "frame.parquet")) if run else None
                if frame is None or not frame.is_file():
                    continue
                f = pd.read_parquet(frame, columns=["kunta", "treated_group"]).drop_duplicates("kunta")
                for k, t in zip(f["kunta"].astype(str).str.zfill(3), f["treated_group"]):
                    roles[k] = "pilot" if int(t) == 1 else roles.get(k, "comparison")
        if registry is not None:
            members = registry[(registry["model_id"] == m) & (registry["member_kind"] == "municipality")]
            for k in members["kuntanumero"].astype(str).str.zfill(3):
                roles[k] = "pilot"
        panels.append((names.get(m, (m,))[0], roles))
    target = figs.site / "pilot_map.png"  # drawn outside _generated; Figures.add copies it in
    map_plot.pilot_map(municipalities, panels, target, regions)
    with_controls = [t for t, roles in panels if "comparison" in roles.values()]
    note = ("" if len(with_controls) == len(panels) else
            " Comparison municipalities are not marked for models whose runs record no analysis frame"
            " (frame.parquet)" + (f": {', '.join(t for t, _ in panels if t not in with_controls)}."
                                   if with_controls else "."))
    md, _ = figs.add(target, "fig-pilot-map",
                     "Pilot municipalities (law 1350/2014) and the comparison municipalities of each "
                     "operating model's evaluation runs, on the municipal division of 2023 (regions "
                     "outlined)." + note + " Boundaries: National Land Survey of Finland, CC BY 4.0.")
    target.unlink()
    return md


# --------------------------------------------------------------------------- all parts
def generate(runs: list[Run], vs: VariableSet, site: Path, registry=None, manifest: Path | None = None,
             reference_dir: Path | None = None, raw_dir: Path | None = None, version: str = "",
             contact: str = "") -> list[Path]:
    """Write all generated includes into ``<site>/_generated``; return the written files."""
    gen = Path(site) / "_generated"
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    names = model_names(registry)
    from .summary import verdicts_by_key

    VERDICTS.clear()
    VERDICTS.update(verdicts_by_key(runs))
    MODEL_NAMES.clear()
    MODEL_NAMES.update({m: n[0] for m, n in names.items()})
    if registry is not None:
        UNIT_NAMES.clear()
        UNIT_NAMES.update(dict(zip(registry["unit_id"], registry["unit_fi"])))
    aims = load_reference(reference_dir, "pilot_aims.csv") if reference_dir else None
    catalogue = load_reference(reference_dir, "outcome_catalogue.csv") if reference_dir else None
    by_model, other = group_runs(runs)
    figs = Figures(Path(site))
    written = []
    map_md = map_figure(by_model, registry, names, figs, raw_dir) if raw_dir else ""
    written.append(atomic.write_text(gen / "map.md", map_md))
    commands: list = []
    include_lines = []
    for m in MODEL_ORDER:
        desc = [r for r in other if run_model_outcome(r)[0] == m]
        text = model_chapter(m, by_model.get(m, []), vs, figs, registry, names, aims, catalogue, commands, desc)
        written.append(atomic.write_text(gen / f"model_{m}.qmd", text))
        include_lines.append("{{< include /_generated/model_" + m + ".qmd >}}\n")
    written.append(atomic.write_text(gen / "results.qmd", "\n".join(include_lines)))
    # the summary (glance table, forest plot, en/fi/sv sentences, rules text) comes from the verdicts
    from .summary import write_summary

    written += write_summary(runs, gen)
    written.append(atomic.write_text(gen / "participants.md",
                                     participants_table(registry) if registry is not None
                                     else "*Pilot registry not found.*\n"))
    written.append(atomic.write_text(gen / "aims.md", aims_section(aims, names)))
    written.append(atomic.write_text(gen / "sources.md", sources_table(manifest) if manifest else ""))
    written.append(atomic.write_text(gen / "overview.md", overview_table(by_model, names, catalogue)))
    written.append(atomic.write_text(gen / "size.md", size_table(by_model) + "\n" + headline_rules(by_model)))
    written.append(atomic.write_text(gen / "commands.md", commands_list(commands)))
    written.append(atomic.write_text(gen / "run_table.md", run_table(runs)))
    written.append(atomic.write_text(gen / "titleblock.md", title_block()))
    return written
