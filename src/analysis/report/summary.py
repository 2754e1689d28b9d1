"""The results at a glance and the summaries, generated from the verdicts only.

For every model and outcome of the run folder: the verdict of :mod:`analysis.verdicts` over
its evaluation run merged with its robustness runs. From the verdicts: a results-at-a-glance
table (estimate and 95% CI under the headline inference, pre-trend p, HonestDiD breakdown
value, MDE, agreeing robustness variants, verdict), a forest plot (one panel per unit kind)
and the summary sentences in English, Finnish (tiivistelmä) and Swedish (sammandrag). No
sentence is written by hand, so none can claim more than its verdict. Names come from the
codebook (``data/reference/codebook.csv``), numbers are formatted by
:mod:`analysis.formatting` (decimal comma in Finnish and Swedish, U+2212 minus).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .. import atomic, codebook
from ..formatting import check_lang, fmt_count, fmt_interval, fmt_number, fmt_p_value, short_unit
from ..verdicts import (LABELS, Verdict, VerdictRules, decide, evidence_from_results, missing_verdict,
                        rules_markdown)
from .runs import MODEL_ORDER, Run

#: Run kinds that are not evaluations of one (model, outcome).
OTHER_KINDS = ("robustness", "descriptives", "audit", "multiverse")


@dataclass(frozen=True)
class GlanceRow:
    """One (model, outcome) of the summary: its verdict and the runs it rests on."""

    model: str
    outcome: str
    verdict: Verdict

    @property
    def unit_kind(self) -> str | None:
        return self.verdict.evidence.unit_kind or codebook.unit_kind(self.outcome)

    def outcome_name(self, lang: str) -> str:
        ev = self.verdict.evidence
        return codebook.outcome_name(self.outcome, lang,
                                     fallback=ev.outcome_label or self.outcome.replace("_", " "))

    def subject(self, lang: str) -> str:
        return f"**{codebook.model_name(self.model, lang)}** — {self.outcome_name(lang)}"


def _kind(run: Run) -> str:
    res = run.results or {}
    if res.get("kind"):
        return str(res["kind"])
    first = run.run_id.split("__")[0]
    if first in OTHER_KINDS or first == "data_audit":
        return "audit" if first == "data_audit" else first
    return "evaluation" if res.get("estimates") else "descriptives"


def _failed_evaluation(run: Run) -> bool:
    first = run.run_id.split("__")[0]
    return not run.ok and first in MODEL_ORDER and len(run.run_id.split("__")) >= 2


def collect(runs: Iterable[Run], rules: VerdictRules = VerdictRules()) -> list[GlanceRow]:
    """One :class:`GlanceRow` per evaluated (model, outcome), in model order; a model of the
    law without any evaluation run gets a *not estimable* row."""
    runs = list(runs)
    robustness: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        if r.ok and _kind(r) == "robustness":
            robustness.setdefault((r.model, r.outcome), []).append(r.results)
    rows: list[GlanceRow] = []
    for r in runs:
        if r.ok and _kind(r) == "evaluation":
            ev = evidence_from_results(r.results, robustness.get((r.model, r.outcome), ()),
                                       unit_kind=codebook.unit_kind(r.outcome))
            rows.append(GlanceRow(r.model, r.outcome, decide(ev, rules)))
        elif _failed_evaluation(r):
            why = "run_missing" if getattr(r, "status", None) == "missing" else "run_failed"
            rows.append(GlanceRow(r.model, r.outcome, missing_verdict(r.model, r.outcome, why,
                                                                      codebook.unit_kind(r.outcome))))
    covered = {row.model for row in rows}
    for m in MODEL_ORDER:
        if m not in covered:
            rows.append(GlanceRow(m, "", missing_verdict(m, "", "no_run")))
    order = {m: i for i, m in enumerate(MODEL_ORDER)}

    def outcome_rank(g: GlanceRow) -> tuple[int, str]:
        from ..outcomes import CATALOGUE

        listed = list(CATALOGUE[g.model].outcomes) + list(CATALOGUE[g.model].secondary) \
            if g.model in CATALOGUE else []
        return (listed.index(g.outcome) if g.outcome in listed else len(listed), g.outcome)

    return sorted(rows, key=lambda g: (order.get(g.model, len(order)), g.model, *outcome_rank(g)))


# --------------------------------------------------------------------------- table
#: Short inference names for the table.
SHORT_INFERENCE = {"cluster": "cluster SE", "wild": "wild bootstrap", "ri": "randomization", "placebo": "placebo"}
#: Columns of the glance table by language: (header, relative width, alignment, field).
#: Pandoc takes the relative widths from the dashes of the separator line.
TABLE_COLUMNS = {
    "en": [("Model and outcome (unit of the effect)", 27, "l", "subject"),
           ("Estimate [95% CI]", 16, "r", "estimate"), ("Inference", 13, "l", "inference"),
           ("Pre-trend p", 8, "r", "pretrend"), ("M̄", 6, "r", "mbar"), ("MDE", 6, "r", "mde"),
           ("Agree", 6, "r", "agree"), ("Verdict", 14, "l", "verdict")],
    "fi": [("Toimintamalli ja tulosmuuttuja (vaikutuksen yksikkö)", 36, "l", "subject"),
           ("Arvio [95\u00a0%:n luottamusväli]", 20, "r", "estimate"),
           ("Pienin havaittava vaikutus", 12, "r", "mde"), ("Johtopäätös", 20, "l", "verdict")],
}
TABLE_CAPTIONS = {
    "en": ("Results at a glance: the headline estimate of every model and outcome under its headline "
           "inference, with the evidence the verdict rules weigh. Pre-trend p: joint "
           "test of the pre-period event-study coefficients, or a placebo-in-time / pre-period RMSPE test "
           "with one treated unit. M̄: HonestDiD breakdown value of the relative-magnitude bounds "
           "[@rambachan2023]. MDE: minimum detectable effect (80% power, 5% level). Agree: robustness "
           "variants with the headline's sign and significance, of all variants. n/a: does not apply with "
           "one treated unit; –: not computed."),
    "fi": ("Tulokset yhdellä silmäyksellä: kunkin toimintamallin ja tulosmuuttujan pääarvio ja "
           "johtopäätös. Pienin havaittava vaikutus: 80\u00a0%:n voima, 5\u00a0%:n merkitsevyystaso; "
           "–: ei laskettu."),
}
NOT_APPLICABLE = {"en": "n/a", "fi": "e/s", "sv": "e/t"}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row_fields(g: GlanceRow, lang: str) -> dict[str, str]:
    from ..verdicts import _canonical_inference

    v, ev = g.verdict, g.verdict.evidence
    h = ev.headline
    unit = short_unit(g.unit_kind, lang, ev.unit_label if lang == "en" else "")
    subject = codebook.model_name(g.model, lang)
    if g.outcome:
        subject += ": " + g.outcome_name(lang) + (f" ({unit})" if unit else "")
    est, inference = "–", "–"
    if h is not None and h.estimate is not None:
        digits = _digits(h)
        est = fmt_number(h.estimate, digits, lang)
        if h.has_interval:
            # no-break spaces keep the interval on one line
            est += "\u00a0" + fmt_interval(h.ci_low, h.ci_high, lang, digits).replace(" ", "\u00a0")
        inference = SHORT_INFERENCE.get(_canonical_inference(h.inference) or "", str(h.inference))
    if ev.single_unit:
        mbar = NOT_APPLICABLE[lang]
    elif ev.honest_did_done:
        mbar = fmt_number(ev.breakdown_mbar, 1, lang) if ev.breakdown_mbar is not None else fmt_number(0, 0, lang) + "\\*"
    else:
        mbar = "–"
    return {"subject": subject, "estimate": est, "inference": inference,
            "pretrend": fmt_p_value(ev.pretrend_p, lang).replace(" ", "\u00a0"),
            "mbar": mbar, "mde": fmt_number(ev.mde, None, lang) if ev.mde is not None else "–",
            "agree": (f"{fmt_count(v.agreement.same_sign_significant, lang)}/{fmt_count(v.agreement.n, lang)}"
                      if v.agreement.n else "–"),
            "verdict": v.label(lang)}


def _digits(h) -> int | None:
    from ..formatting import decimals_for, finite

    vals = [abs(x) for x in (h.estimate, h.ci_low, h.ci_high) if finite(x)]
    return decimals_for(max(vals)) if vals else None


def glance_table(rows: list[GlanceRow], lang: str = "en", label: str = "tbl-glance") -> str:
    """The results-at-a-glance table in ``lang`` (``en`` full, ``fi`` short), a pipe table
    captioned ``{#label}``."""
    check_lang(lang)
    cols = TABLE_COLUMNS.get(lang, TABLE_COLUMNS["en"])
    lang = lang if lang in TABLE_COLUMNS else "en"
    sep = [("-" * (w - 1) + ":") if a == "r" else (":" + "-" * (w - 1)) for _, w, a, _ in cols]
    lines = ["| " + " | ".join(c[0] for c in cols) + " |", "|" + "|".join(sep) + "|"]
    for g in rows:
        f = _row_fields(g, lang)
        lines.append("| " + " | ".join(_cell(f[c[3]]) for c in cols) + " |")
    cap = TABLE_CAPTIONS[lang]
    if lang == "en" and any(g.verdict.evidence.honest_did_done and g.verdict.evidence.breakdown_mbar is None
                            for g in rows):
        cap += " 0\\*: no bound excludes zero."
    return "\n".join(lines) + f"\n\n: {cap} {{#{label}}}\n"


# --------------------------------------------------------------------------- sentences
COUNT_INTRO = {
    "en": "Verdicts for {n} model–outcome {pairs}: {parts}.",
    "fi": "Johtopäätökset {n} toimintamallin ja tulosmuuttujan parista: {parts}.",
    "sv": "Slutsatser för {n} par av modell och utfall: {parts}.",
}


def verdict_counts(rows: list[GlanceRow], lang: str = "en") -> str:
    """One sentence counting the verdicts (label: count, so no word needs inflecting)."""
    c = Counter(g.verdict.code for g in rows)
    parts = [f"{LABELS[code][lang][0].lower()}{LABELS[code][lang][1:]} {fmt_count(c[code], lang)}"
             for code in LABELS if c.get(code)]
    return COUNT_INTRO[lang].format(n=fmt_count(len(rows), lang), parts=", ".join(parts),
                                    pairs="pair" if len(rows) == 1 else "pairs")


def summary_sentences(rows: list[GlanceRow], lang: str = "en") -> str:
    """The summary's verdict sentences in ``lang`` as a Markdown bullet list."""
    check_lang(lang)
    lines = [verdict_counts(rows, lang), ""]
    for g in rows:
        subject = g.subject(lang) if g.outcome else f"**{codebook.model_name(g.model, lang)}**"
        lines.append("- " + g.verdict.sentence(lang, subject))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- chapters
#: Names of the checks (:class:`analysis.verdicts.Reason` rules) in the chapters.
CHECK_NAMES = {"not_estimable": "Estimate and inference", "pretrends": "Pre-trends and placebo start years",
               "size": "Size of the headline test", "robustness": "Robustness variants",
               "sensitivity": "HonestDiD sensitivity", "complete": "Complete evidence",
               "attainable_p": "Attainable p-value", "mde": "Minimum detectable effect"}
CHECK_STATUS = {True: "passed", False: "failed", None: "missing"}


def verdicts_by_key(runs: Iterable[Run], rules: VerdictRules = VerdictRules()) -> dict[tuple[str, str], GlanceRow]:
    """``{(model, outcome): GlanceRow}`` for the chapters (one call per report build)."""
    return {(g.model, g.outcome): g for g in collect(runs, rules)}


def verdict_markdown(row: GlanceRow) -> str:
    """A chapter's verdict block: the verdict, its sentence and every check with its numbers
    and status, in the order the rules applied them (Markdown)."""
    v = row.verdict
    lines = [f"**Verdict: {v.label('en')}.** " + v.sentence("en", row.outcome_name("en")), ""]
    for r in v.reasons:
        lines.append(f"- {CHECK_NAMES.get(r.rule, r.rule)} ({CHECK_STATUS[r.passed]}): {r.text}.")
    lines.append("")
    lines.append("The rules are stated in @sec-verdict-rules.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- figure
def forest_rows(rows: list[GlanceRow], lang: str = "en"):
    from ..plots.forest import ForestRow

    out = []
    for g in rows:
        h = g.verdict.evidence.headline
        if h is None or g.verdict.code == "not_estimable":
            continue
        label = f"{codebook.model_name(g.model, lang)}:\n{g.outcome_name(lang)}"
        out.append(ForestRow(_wrap(label), g.unit_kind or "other", h.estimate, h.ci_low, h.ci_high,
                             g.verdict.code))
    return out


def _wrap(text: str, width: int = 54) -> str:
    import textwrap

    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))


GLANCE_LEAD = {
    "figure": ("@tbl-glance gives, for every operating model and outcome, the headline estimate under its "
               "headline inference and the evidence behind its verdict; @fig-forest draws the same estimates."),
    "table": ("@tbl-glance gives, for every operating model and outcome, the headline estimate under its "
              "headline inference and the evidence behind its verdict (no estimate to draw)."),
}
FOREST_CAPTIONS = {
    "en": ("Headline estimates with 95% confidence intervals under the headline inference, one panel per "
           "unit (filled square: effect; open circle: no detectable effect; grey diamond: inconclusive). "
           "Outcomes without an estimate are listed in the table above only."),
}


def write_summary(runs: Iterable[Run], generated: str | Path, rules: VerdictRules = VerdictRules()) -> list[Path]:
    """Write the summary parts into ``generated`` (the report's ``_generated`` folder):
    ``summary_glance.md`` (table and forest plot), ``summary_en.md``, ``summary_fi.md``,
    ``summary_sv.md``, ``summary_glance_fi.md`` and ``verdict_rules.md``; return the paths."""
    gen = Path(generated)
    rows = collect(runs, rules)
    written: list[Path] = []
    from ..plots.forest import forest_figure

    fig = forest_figure(forest_rows(rows, "en"), gen / "figures" / "summary" / "forest.png", "en")
    glance = GLANCE_LEAD["figure" if fig is not None else "table"] + "\n\n" + glance_table(rows, "en")
    if fig is not None:
        glance += ("\n![" + FOREST_CAPTIONS["en"] + "](_generated/figures/summary/forest.png)"
                   "{#fig-forest}\n")
    written.append(atomic.write_text(gen / "summary_glance.md", glance))
    written.append(atomic.write_text(gen / "summary_glance_fi.md", glance_table(rows, "fi", "tbl-glance-fi")))
    for lang in ("en", "fi", "sv"):
        written.append(atomic.write_text(gen / f"summary_{lang}.md", summary_sentences(rows, lang)))
    written.append(atomic.write_text(gen / "verdict_rules.md", rules_markdown(rules)))
    if fig is not None:
        written.append(fig)
    return written

