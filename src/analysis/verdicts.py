"""Verdicts that follow the evidence: written rules from one model/outcome's evidence to a
verdict, and the sentences the summaries may say about it.

The evidence of one (model, outcome) is read from its ``results.json`` (schema 2, merged with
its robustness runs) into an :class:`Evidence`: the headline estimate and its confidence
interval under the headline inference, the pre-trend test and placebo start years, the
HonestDiD breakdown value, the minimum detectable effect (MDE), the robustness variants, the
measured size of the headline inference and the smallest p-value it can attain.
:func:`decide` applies the rules below, in this order; the first rule that fires gives the
verdict, and every check is kept as a :class:`Reason` with its numbers.

1. **Not estimable** (``not_estimable``): no headline estimate, no finite estimate, neither a
   confidence interval nor a p-value, or an inference that the design does not allow (cluster-robust or
   wild-bootstrap inference with fewer than two treated clusters).
2. **Inconclusive: pre-trends** (``inconclusive_pretrends``): the pre-trend test rejects at
   ``pretrend_alpha``, or a placebo start year (a fake adoption before 2015) gives an effect
   with p < ``pretrend_alpha``. Applies to significant and insignificant estimates alike: a
   trend that was there before can hide an effect as easily as fake one.

Then, if the confidence interval excludes zero and the p-value is below ``alpha`` (where
either is missing, the other decides; if they disagree the estimate counts as not significant):

3. **Inconclusive: inference** (``inconclusive_inference``): the headline inference rejected a
   true null in more than ``max_size`` of the placebo layouts of this panel (nominal 5%).
4. **Inconclusive: not robust** (``inconclusive_not_robust``): a robustness variant is
   significant with the opposite sign, fewer than ``min_sign_agreement`` of the variants have
   the headline's sign, or fewer than ``min_significance_agreement`` have its sign *and* are
   significant (a variant without a p-value or interval counts as not significant).
5. **Inconclusive: sensitive to trends** (``inconclusive_sensitivity``): with two or more
   treated clusters, the HonestDiD breakdown value M̄ (the largest relative-magnitude bound
   whose interval still excludes zero; Rambachan & Roth 2023) is below ``min_breakdown_mbar``
   or no bound excludes zero.
6. **Inconclusive: incomplete evidence** (``inconclusive_incomplete``): a piece needed for an
   effect claim is missing: a pre-trend test result, at least one robustness variant, the size
   of the headline inference on this panel, or HonestDiD bounds where the design has two or
   more treated clusters (with one treated unit HonestDiD does not apply and is not required).
7. **Effect** (``effect``): none of the above fired.

If the interval includes zero:

8. **Inconclusive: inference** (``inconclusive_inference``): the smallest p-value the headline
   test can attain (1 / (placebo comparisons + 1)) is above ``alpha``, so it could never
   reject.
9. **Inconclusive: incomplete evidence** (``inconclusive_incomplete``): no MDE, so the null
   cannot be read against any effect size, or no pre-trend test, so a trend could hide an
   effect of any size.
10. **No detectable effect** (``no_detectable_effect``): effects smaller than the MDE cannot
    be ruled out; the sentence says so, with the MDE.

The rules only ever weaken a claim: an estimate is called an effect only when every piece of
evidence is present and passes, so a generated sentence cannot be stronger than the evidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .formatting import (fmt_ci, fmt_count, fmt_effect, fmt_number, fmt_p, fmt_percent,
                         finite, unit_kind_of)

#: Verdict codes, strongest claim first.
CODES = ("effect", "no_detectable_effect", "inconclusive_pretrends", "inconclusive_inference",
         "inconclusive_not_robust", "inconclusive_sensitivity", "inconclusive_incomplete",
         "not_estimable")
#: Short verdict labels for tables, by language.
LABELS = {
    "effect": {"en": "Effect", "fi": "Vaikutus", "sv": "Effekt"},
    "no_detectable_effect": {"en": "No detectable effect", "fi": "Ei havaittavaa vaikutusta",
                             "sv": "Ingen påvisbar effekt"},
    "inconclusive_pretrends": {"en": "Inconclusive: pre-trends", "fi": "Ei johtopäätöstä: ennakkotrendit",
                               "sv": "Ingen slutsats: förtrender"},
    "inconclusive_inference": {"en": "Inconclusive: inference", "fi": "Ei johtopäätöstä: päättely",
                               "sv": "Ingen slutsats: inferens"},
    "inconclusive_not_robust": {"en": "Inconclusive: not robust", "fi": "Ei johtopäätöstä: ei vakaa",
                                "sv": "Ingen slutsats: inte robust"},
    "inconclusive_sensitivity": {"en": "Inconclusive: sensitive to trends",
                                 "fi": "Ei johtopäätöstä: herkkä trendeille",
                                 "sv": "Ingen slutsats: känslig för trender"},
    "inconclusive_incomplete": {"en": "Inconclusive: incomplete evidence",
                                "fi": "Ei johtopäätöstä: puutteellinen näyttö",
                                "sv": "Ingen slutsats: ofullständigt underlag"},
    "not_estimable": {"en": "Not estimable", "fi": "Ei estimoitavissa", "sv": "Kan inte skattas"},
}
#: Names of the estimators in the reasons (``analysis.study.ESTIMATORS`` and older spellings).
ESTIMATOR_NAMES = {"did": "2×2 DiD", "did2x2": "2×2 DiD", "twfe": "TWFE DiD", "event-study": "event study",
                   "event_study": "event study", "sc": "synthetic control", "synthetic_control": "synthetic control",
                   "sdid": "synthetic DiD"}
#: Inference methods that need two or more treated clusters.
CLUSTER_INFERENCE = {"cluster", "cluster_robust", "wild", "wild_bootstrap", "wild_cluster_bootstrap", "wcr"}
#: Names of the inference methods in the sentences (``analysis.study.INFERENCE_METHODS`` and
#: the older spellings some results files carry).
INFERENCE_NAMES = {
    "cluster": {"en": "cluster-robust standard errors", "fi": "klusterirobustit keskivirheet",
                "sv": "klusterrobusta standardfel"},
    "wild": {"en": "wild cluster bootstrap", "fi": "villi klusteribootstrap", "sv": "vild klusterbootstrap"},
    "ri": {"en": "randomization inference", "fi": "satunnaistamispäättely", "sv": "randomiseringsinferens"},
    "placebo": {"en": "in-space placebo test", "fi": "plasebovertailu muihin kuntiin",
                "sv": "placebojämförelse med andra kommuner"},
}
INFERENCE_ALIASES = {"cluster_robust": "cluster", "wild_bootstrap": "wild", "wild_cluster_bootstrap": "wild",
                     "wcr": "wild", "randomization": "ri", "randomization_inference": "ri"}
#: Pieces of evidence an effect claim needs, by language (rule 6).
PIECES = {
    "pretrend": {"en": "a pre-trend test", "fi": "ennakkotrenditesti", "sv": "förtrendstest"},
    "robustness": {"en": "robustness variants", "fi": "herkkyystarkastelut", "sv": "robusthetskontroller"},
    "size": {"en": "the size of the headline test on this panel", "fi": "päätestin koon mittaus tällä aineistolla",
             "sv": "huvudtestets storlek i dessa data"},
    "honest_did": {"en": "HonestDiD sensitivity bounds", "fi": "HonestDiD-herkkyysanalyysi",
                   "sv": "HonestDiD-känslighetsanalys"},
    "mde": {"en": "the minimum detectable effect", "fi": "pienin havaittava vaikutus",
            "sv": "minsta påvisbara effekt"},
}
#: Why an estimate is not estimable, by language (rule 1).
NOT_ESTIMABLE = {
    "no_run": {"en": "no evaluation run of this outcome", "fi": "tulosmuuttujasta ei ole arviointiajoa",
               "sv": "ingen utvärderingskörning av utfallet"},
    "run_missing": {"en": "the evaluation run has not been executed (partial draft)",
                    "fi": "arviointiajoa ei ole suoritettu (keskeneräinen luonnos)",
                    "sv": "utvärderingskörningen har inte utförts (ofullständigt utkast)"},
    "run_failed": {"en": "the evaluation run failed", "fi": "arviointiajo epäonnistui",
                   "sv": "utvärderingskörningen misslyckades"},
    "no_headline": {"en": "the run designates no headline estimate", "fi": "ajossa ei ole pääestimaattia",
                    "sv": "körningen anger ingen huvudskattning"},
    "no_estimate": {"en": "the headline estimate is missing", "fi": "pääestimaatti puuttuu",
                    "sv": "huvudskattningen saknas"},
    "no_interval": {"en": "the headline estimate has neither a confidence interval nor a p-value",
                    "fi": "pääestimaatilla ei ole luottamusväliä eikä p-arvoa",
                    "sv": "huvudskattningen saknar både konfidensintervall och p-värde"},
    "cluster_one_unit": {"en": "cluster-based inference is not valid with a single treated unit",
                         "fi": "klusteripohjainen päättely ei ole pätevää, kun kokeiluyksiköitä on vain yksi",
                         "sv": "klusterbaserad inferens är inte giltig med en enda försöksenhet"},
}


@dataclass(frozen=True)
class VerdictRules:
    """Thresholds of the verdict rules (validated once; see the module docstring).

    ``alpha``: level of the headline test (its interval is the 1 − alpha interval).
    ``pretrend_alpha``: level of the pre-trend test and of the placebo start years.
    ``max_size``: largest acceptable rejection rate of the headline inference under the null
    on this panel's placebo layouts (nominal 5%; twice nominal tolerates simulation noise).
    ``min_sign_agreement`` / ``min_significance_agreement``: shares of robustness variants
    that must share the headline's sign / its sign and significance.
    ``min_breakdown_mbar``: HonestDiD breakdown value needed (1: the effect survives
    post-period trend violations as large as the largest pre-period one; Rambachan & Roth 2023).
    """

    alpha: float = 0.05
    pretrend_alpha: float = 0.05
    max_size: float = 0.10
    min_sign_agreement: float = 0.8
    min_significance_agreement: float = 0.5
    min_breakdown_mbar: float = 1.0

    def __post_init__(self) -> None:
        from .errors import InputError

        for name in ("alpha", "pretrend_alpha", "max_size", "min_sign_agreement", "min_significance_agreement"):
            v = getattr(self, name)
            if not (finite(v) and 0 < v <= 1):
                raise InputError(f"verdict rule {name} must be in (0, 1], got {v!r}")
        if not (finite(self.min_breakdown_mbar) and self.min_breakdown_mbar >= 0):
            raise InputError(f"verdict rule min_breakdown_mbar must be >= 0, got {self.min_breakdown_mbar!r}")


@dataclass(frozen=True)
class Estimate:
    """One estimate row: point, interval, p-value and what produced it."""

    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    estimator: str | None = None
    inference: str | None = None
    label: str = ""

    @property
    def has_interval(self) -> bool:
        return finite(self.ci_low) and finite(self.ci_high)

    def significant(self, alpha: float) -> bool | None:
        """Interval excludes zero and (if given) p < alpha; ``None`` if neither is known.
        Interval and p-value must agree, else the row counts as not significant."""
        by_ci = (self.ci_low > 0 or self.ci_high < 0) if self.has_interval else None
        by_p = (self.p_value < alpha) if finite(self.p_value) else None
        if by_ci is None and by_p is None:
            return None
        return bool((by_ci if by_ci is not None else True) and (by_p if by_p is not None else True))

    def sign(self) -> int:
        if not finite(self.estimate) or self.estimate == 0:
            return 0
        return 1 if self.estimate > 0 else -1


@dataclass(frozen=True)
class Evidence:
    """Everything the rules look at for one (model, outcome)."""

    model: str
    outcome: str
    unit_kind: str | None = None
    unit_label: str = ""
    outcome_label: str = ""
    headline: Estimate | None = None
    missing_reason: str | None = None          # a NOT_ESTIMABLE code when there is nothing to judge
    n_treated_units: int | None = None
    min_attainable_p: float | None = None
    n_placebo_comparisons: int | None = None
    pretrend_p: float | None = None
    pretrend_test: str | None = None
    pretrend_reason: str | None = None
    placebo_years: tuple[Estimate, ...] = ()
    breakdown_mbar: float | None = None
    honest_did_done: bool = False
    honest_did_reason: str | None = None
    mde: float | None = None
    mde_reason: str | None = None
    variants: tuple[Estimate, ...] = ()
    size_rejection_rate: float | None = None
    size_mc_se: float | None = None
    size_reason: str | None = None
    run_ids: tuple[str, ...] = ()

    @property
    def has_pretrend_evidence(self) -> bool:
        """A joint pre-trend test, or placebo start years with a p-value or interval (the
        placebo-in-time test of a single-unit design)."""
        return self.pretrend_p is not None or any(
            finite(py.p_value) or py.has_interval for py in self.placebo_years)

    @property
    def single_unit(self) -> bool:
        return self.n_treated_units is not None and self.n_treated_units < 2


@dataclass(frozen=True)
class Reason:
    """One check of the rules: which rule, whether the evidence passed it, in words and numbers."""

    rule: str
    passed: bool | None        # None: the evidence for this check is missing
    text: str
    numbers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Agreement:
    """How the robustness variants agree with the headline estimate."""

    n: int = 0
    same_sign: int = 0
    same_sign_significant: int = 0    # same sign and same significance status as the headline
    opposite_significant: int = 0

    def text(self, lang: str = "en") -> str:
        if self.n == 0:
            return "–"
        return f"{self.same_sign_significant}/{self.n}"


@dataclass(frozen=True)
class Verdict:
    """The verdict on one (model, outcome): its code, the rule that decided, every check with
    its numbers, and the sentences the summaries may say (:meth:`sentence`)."""

    code: str
    rule: str
    reasons: tuple[Reason, ...]
    evidence: Evidence
    agreement: Agreement = Agreement()
    missing: tuple[str, ...] = ()

    def label(self, lang: str = "en") -> str:
        return LABELS[self.code][lang]

    @property
    def deciding_reason(self) -> Reason | None:
        return next((r for r in self.reasons if r.rule == self.rule), None)

    def sentence(self, lang: str = "en", subject: str | None = None) -> str:
        """The summary sentence(s) of this verdict in ``lang`` (``en``, ``fi``, ``sv``)."""
        return render_sentence(self, lang, subject)


# --------------------------------------------------------------------------- reading results
def _num(x: Any) -> float | None:
    return float(x) if finite(x) else None


def _estimate(row: Mapping[str, Any], label: str = "") -> Estimate:
    return Estimate(_num(row.get("estimate")), _num(row.get("ci_low")), _num(row.get("ci_high")),
                    _num(row.get("p_value")), row.get("estimator"), row.get("inference"),
                    label or str(row.get("variant") or row.get("term") or row.get("id") or ""))


def _canonical_inference(name: Any) -> str | None:
    if name is None:
        return None
    return INFERENCE_ALIASES.get(str(name), str(name))


def headline_row(results: Mapping[str, Any]) -> dict | None:
    """The headline row of a ``results.json``: the row whose ``id`` is ``headline``, else the
    row with role ``headline``; schema 2 without either has none. Results without a designated
    headline (schema 1) take the most conservative inference run, rows with an interval first
    (wild bootstrap, randomization inference, placebo, cluster-robust)."""
    ests = [e for e in results.get("estimates") or [] if isinstance(e, dict)]
    hid = results.get("headline")
    if hid is not None:
        for e in ests:
            if e.get("id") == hid:
                return e
    tagged = [e for e in ests if e.get("role") == "headline"]
    if tagged:
        return tagged[0]
    if results.get("schema") == 2:
        return None
    # results without a designated headline (schema 1): the most conservative inference run
    order = ["wild", "ri", "placebo", "cluster"]
    cands = [e for e in ests if finite(e.get("estimate"))
             and _canonical_inference(e.get("inference")) in order]
    if not cands:
        return None
    return sorted(cands, key=lambda e: (not (finite(e.get("ci_low")) and finite(e.get("ci_high"))),
                                        order.index(_canonical_inference(e.get("inference")))))[0]


_YEAR = re.compile(r"(19|20)\d\d")


def _block(runs: list[Mapping[str, Any]], key: str, has_values) -> Mapping[str, Any] | None:
    """The ``key`` block of the first run whose block has values (an evaluation run may say
    ``{"reason": "in the robustness run"}``), else the first block found (its reason)."""
    blocks = [r.get(key) for r in runs if isinstance(r.get(key), Mapping)]
    return next((b for b in blocks if has_values(b)), blocks[0] if blocks else None)


def evidence_from_results(results: Mapping[str, Any], robustness: Iterable[Mapping[str, Any]] = (),
                          unit_kind: str | None = None) -> Evidence:
    """The :class:`Evidence` of one evaluation run's ``results.json`` (schema 2, see
    CONTRACTS § 4) merged with the ``results.json`` of its robustness runs.

    Robustness variants are the rows with role ``robustness`` (of every run) and the rows with
    role ``estimate`` of another estimator than the headline's (the same estimator under
    another inference is the same estimate, not a variant). Rows with role ``placebo_year``
    are falsification tests (rule 2)."""
    robustness = [r for r in robustness if isinstance(r, Mapping)]
    everything = [results, *robustness]
    design = results.get("design") if isinstance(results.get("design"), Mapping) else {}
    n_units = design.get("n_treated_units", results.get("n_treated_units"))
    kind = results.get("unit_kind") or unit_kind or unit_kind_of(results.get("unit_label"))
    base = dict(model=str(results.get("model") or ""), outcome=str(results.get("outcome") or ""),
                unit_kind=kind, unit_label=str(results.get("unit_label") or ""),
                outcome_label=str(results.get("outcome_label") or ""),
                n_treated_units=int(n_units) if finite(n_units) else None,
                run_ids=tuple(str(r.get("run_id")) for r in everything if r.get("run_id")))
    row = headline_row(results)
    if row is None:
        return Evidence(**base, missing_reason="no_headline")
    head = _estimate(row, "headline")
    # pre-trend test (schema 2 block; schema 1 kept a bare p-value)
    pre = _block(everything, "pretrend", lambda b: finite(b.get("p_value")))
    pre_p = pre_test = pre_reason = None
    if pre is not None:
        pre_p, pre_test, pre_reason = _num(pre.get("p_value")), pre.get("test"), pre.get("reason")
    elif finite(results.get("pretrend_p_value")):
        pre_p, pre_test = float(results["pretrend_p_value"]), "F"
    # HonestDiD
    hd = _block(everything, "honest_did", lambda b: "breakdown_mbar" in b)
    mbar, hd_done, hd_reason = None, False, None
    if hd is not None:
        if "breakdown_mbar" in hd:
            hd_done, mbar = True, _num(hd.get("breakdown_mbar"))
        else:
            hd_reason = hd.get("reason")
    else:
        legacy = next((r.get("robustness") for r in everything if isinstance(r.get("robustness"), Mapping)), None)
        if legacy and isinstance(legacy.get("breakdown_value"), Mapping):
            hd_done, mbar = True, _num(legacy["breakdown_value"].get("relative_magnitude_Mbar"))
        elif legacy and legacy.get("honest_did") == []:
            hd_reason = "; ".join(n for n in legacy.get("notes") or [] if "HonestDiD" in n) or None
    # power
    pw = _block(everything, "power", lambda b: finite(b.get("mde")))
    mde = _num(pw.get("mde")) if pw else None
    mde_reason = (pw.get("reason") if pw else None)
    # size of the headline inference
    size_rate = size_se = None
    size_reason = None
    hinf = _canonical_inference(head.inference)
    for r in everything:
        for s in r.get("size") or []:
            if not isinstance(s, Mapping):
                continue
            if s.get("estimator") == head.estimator and _canonical_inference(s.get("inference")) == hinf \
                    and finite(s.get("rejection_rate")):
                if size_rate is None or s["rejection_rate"] > size_rate:
                    size_rate, size_se = float(s["rejection_rate"]), _num(s.get("mc_se"))
        if isinstance(r.get("size"), Mapping) and r["size"].get("reason"):
            size_reason = r["size"]["reason"]
        elif r.get("size_reason"):
            size_reason = str(r["size_reason"])
    # variants and placebo years
    variants, placebo_years = [], []
    seen: set[tuple] = set()
    for r in everything:
        for e in r.get("estimates") or []:
            if not isinstance(e, Mapping) or e is row or not finite(e.get("estimate")):
                continue
            role = e.get("role") or (None if r.get("schema") == 2 else "estimate")
            if role == "placebo_year":
                text = str(e.get("variant") or e.get("term") or "")
                m = _YEAR.search(text)
                placebo_years.append(_estimate(e, m.group(0) if m else text))
                continue
            if role == "robustness" or (role == "estimate" and e.get("estimator") != head.estimator):
                # one variant per point estimate: the same estimate under another inference
                # method is not a second variant (the first row listed counts)
                key = (e.get("estimator"), e.get("control_pool"), e.get("variant"), e.get("term"),
                       round(float(e["estimate"]), 10))
                if key not in seen:
                    seen.add(key)
                    variants.append(_estimate(e))
    if not any("estimates" in r and r.get("schema") == 2 for r in everything):
        # schema 1 robustness checks: placebo adoption years, leave-one-out, control pools
        for r in robustness:
            for c in (r.get("robustness") or {}).get("checks") or []:
                if not finite(c.get("estimate")) or c.get("check") == "baseline":
                    continue
                if c.get("check") == "placebo_adoption_year":
                    placebo_years.append(Estimate(float(c["estimate"]), p_value=_num(c.get("p_value")),
                                                  label=str(c.get("variant"))))
                else:
                    variants.append(Estimate(float(c["estimate"]), p_value=_num(c.get("p_value")),
                                             label=f"{c.get('check')}: {c.get('variant')}"))
    # smallest attainable p-value of a placebo-based headline test
    min_p, n_comp = None, None
    sc = results.get("synthetic_control") if isinstance(results.get("synthetic_control"), Mapping) else {}
    if hinf == "placebo":
        if finite(sc.get("min_p_value")):
            min_p = float(sc["min_p_value"])
        if finite(sc.get("n_donors")):
            n_comp = int(sc["n_donors"])
            min_p = min_p if min_p is not None else 1.0 / (n_comp + 1)
        elif finite(row.get("reps")) and (n_units or 0) < 2:
            n_comp = int(row["reps"])
            min_p = 1.0 / (n_comp + 1)
    return Evidence(**base, headline=head, min_attainable_p=min_p, n_placebo_comparisons=n_comp,
                    pretrend_p=pre_p, pretrend_test=pre_test, pretrend_reason=pre_reason,
                    placebo_years=tuple(placebo_years), breakdown_mbar=mbar, honest_did_done=hd_done,
                    honest_did_reason=hd_reason, mde=mde, mde_reason=mde_reason, variants=tuple(variants),
                    size_rejection_rate=size_rate, size_mc_se=size_se, size_reason=size_reason)


# --------------------------------------------------------------------------- the rules
def agreement(headline: Estimate, variants: Iterable[Estimate], alpha: float) -> Agreement:
    """Counts of variants sharing the headline's sign; sharing its sign and its significance
    status (both significant, or both not); and significant variants of the opposite sign."""
    variants = [v for v in variants if finite(v.estimate)]
    s = headline.sign()
    head_sig = headline.significant(alpha) is True
    same = sum(v.sign() == s and s != 0 for v in variants)
    same_sig = sum(v.sign() == s and s != 0 and (v.significant(alpha) is True) == head_sig for v in variants)
    opp_sig = sum(v.sign() == -s and s != 0 and v.significant(alpha) is True for v in variants)
    return Agreement(len(variants), same, same_sig, opp_sig)


def decide(ev: Evidence, rules: VerdictRules = VerdictRules()) -> Verdict:
    """Apply the rules (module docstring) to ``ev``; the first rule that fires decides."""
    reasons: list[Reason] = []

    def done(code: str, rule: str, **kw) -> Verdict:
        return Verdict(code, rule, tuple(reasons), ev, **kw)

    # rule 1: not estimable
    h = ev.headline
    why = ev.missing_reason
    if why is None and (h is None or not finite(h.estimate)):
        why = "no_estimate"
    if why is None and not h.has_interval and not finite(h.p_value):
        why = "no_interval"
    if why is None and ev.single_unit and _canonical_inference(h.inference) in CLUSTER_INFERENCE:
        why = "cluster_one_unit"
    if why is not None:
        reasons.append(Reason("not_estimable", False, NOT_ESTIMABLE[why]["en"], {"reason": why}))
        return done("not_estimable", "not_estimable")
    reasons.append(Reason("not_estimable", True,
                          f"headline estimate {fmt_number(h.estimate)}"
                          + (f", 95% interval {fmt_number(h.ci_low)} to {fmt_number(h.ci_high)}" if h.has_interval else "")
                          + (f", {fmt_p(h.p_value)}" if finite(h.p_value) else "")
                          + f" ({ESTIMATOR_NAMES.get(str(h.estimator), h.estimator)}, "
                            f"{_inference_name(h.inference, 'en')})",
                          {"estimate": h.estimate, "ci_low": h.ci_low, "ci_high": h.ci_high, "p_value": h.p_value}))
    # rule 2: pre-trends
    pre_fail = []
    if ev.pretrend_p is not None and ev.pretrend_p < rules.pretrend_alpha:
        pre_fail.append(("test", ev.pretrend_p))
    for py in ev.placebo_years:
        if py.significant(rules.pretrend_alpha) is True:
            pre_fail.append((py.label, py.p_value))
    if pre_fail:
        reasons.append(Reason("pretrends", False,
                              "parallel pre-trends rejected: " + "; ".join(
                                  f"{'pre-trend test' if k == 'test' else 'placebo start year ' + k} {fmt_p(p)}"
                                  if p is not None else f"placebo start year {k}: interval excludes 0"
                                  for k, p in pre_fail) + f" (rule: p < {fmt_number(rules.pretrend_alpha, 2)})",
                              {"pretrend_p": ev.pretrend_p, "failures": tuple(pre_fail)}))
        return done("inconclusive_pretrends", "pretrends")
    reasons.append(Reason("pretrends", True if ev.has_pretrend_evidence else None,
                          ("no joint pre-trend test; placebo start years (placebo in time) significant: 0 of "
                           f"{len(ev.placebo_years)}" if ev.has_pretrend_evidence else
                           "no pre-trend test" + (f" ({ev.pretrend_reason})" if ev.pretrend_reason else ""))
                          if ev.pretrend_p is None else
                          f"pre-trend test ({ev.pretrend_test or 'joint'}) {fmt_p(ev.pretrend_p)}, not below "
                          f"{fmt_number(rules.pretrend_alpha, 2)}; placebo start years significant: 0 of "
                          f"{len(ev.placebo_years)}",
                          {"pretrend_p": ev.pretrend_p}))
    significant = h.significant(rules.alpha) is True
    agree = agreement(h, ev.variants, rules.alpha)
    if significant:
        # rule 3: size of the headline inference
        if ev.size_rejection_rate is not None and ev.size_rejection_rate > rules.max_size:
            reasons.append(Reason("size", False,
                                  f"headline inference rejects a true null in {fmt_percent(ev.size_rejection_rate, 'en', 1)} of "
                                  f"placebo layouts (rule: at most {fmt_percent(rules.max_size)})", {"rejection_rate": ev.size_rejection_rate}))
            return done("inconclusive_inference", "size", agreement=agree)
        reasons.append(Reason("size", None if ev.size_rejection_rate is None else True,
                              "size of the headline inference not measured"
                              + (f" ({ev.size_reason})" if ev.size_reason else "")
                              if ev.size_rejection_rate is None else
                              f"headline inference rejects a true null in {fmt_percent(ev.size_rejection_rate, 'en', 1)} of "
                              f"placebo layouts (rule: at most {fmt_percent(rules.max_size)})", {"rejection_rate": ev.size_rejection_rate}))
        # rule 4: robustness
        if agree.n:
            sign_share = agree.same_sign / agree.n
            sig_share = agree.same_sign_significant / agree.n
            ok = (agree.opposite_significant == 0 and sign_share >= rules.min_sign_agreement
                  and sig_share >= rules.min_significance_agreement)
            text = (f"{agree.same_sign}/{agree.n} variants share the sign, {agree.same_sign_significant}/{agree.n} "
                    f"share sign and significance, {agree.opposite_significant} significant with the opposite sign "
                    f"(rule: at least {fmt_percent(rules.min_sign_agreement)}, at least "
                    f"{fmt_percent(rules.min_significance_agreement)}, none)")
            reasons.append(Reason("robustness", ok, text, {"n": agree.n, "same_sign": agree.same_sign,
                                                            "same_sign_significant": agree.same_sign_significant,
                                                            "opposite_significant": agree.opposite_significant}))
            if not ok:
                return done("inconclusive_not_robust", "robustness", agreement=agree)
        else:
            reasons.append(Reason("robustness", None, "no robustness variant", {"n": 0}))
        # rule 5: HonestDiD
        if not ev.single_unit and ev.honest_did_done:
            ok = ev.breakdown_mbar is not None and ev.breakdown_mbar >= rules.min_breakdown_mbar
            reasons.append(Reason("sensitivity", ok,
                                  f"HonestDiD breakdown value M̄ = {fmt_number(ev.breakdown_mbar, 1)} (rule: at least "
                                  f"{fmt_number(rules.min_breakdown_mbar, 1)})" if ev.breakdown_mbar is not None
                                  else "HonestDiD: no relative-magnitude interval excludes 0",
                                  {"breakdown_mbar": ev.breakdown_mbar, "threshold": rules.min_breakdown_mbar}))
            if not ok:
                return done("inconclusive_sensitivity", "sensitivity", agreement=agree)
        elif ev.single_unit:
            reasons.append(Reason("sensitivity", True, "one treated unit: HonestDiD does not apply "
                                  "(no cluster covariance of the event-study coefficients)", {}))
        else:
            reasons.append(Reason("sensitivity", None, "no HonestDiD bounds"
                                  + (f" ({ev.honest_did_reason})" if ev.honest_did_reason else ""), {}))
        # rule 6: completeness
        missing = []
        if not ev.has_pretrend_evidence:
            missing.append("pretrend")
        if agree.n == 0:
            missing.append("robustness")
        if ev.size_rejection_rate is None:
            missing.append("size")
        if not ev.single_unit and not ev.honest_did_done:
            missing.append("honest_did")
        if missing:
            reasons.append(Reason("complete", False, "missing for an effect claim: " + ", ".join(missing),
                                  {"missing": tuple(missing)}))
            return done("inconclusive_incomplete", "complete", agreement=agree, missing=tuple(missing))
        reasons.append(Reason("complete", True, "every piece of evidence present", {}))
        return done("effect", "effect", agreement=agree)
    # interval includes zero
    if ev.min_attainable_p is not None and ev.min_attainable_p > rules.alpha:
        reasons.append(Reason("attainable_p", False,
                              f"smallest attainable p-value {fmt_number(ev.min_attainable_p, 3)}, above {fmt_number(rules.alpha, 2)}",
                              {"min_attainable_p": ev.min_attainable_p}))
        return done("inconclusive_inference", "attainable_p", agreement=agree)
    missing = tuple(m for m, absent in (("pretrend", not ev.has_pretrend_evidence), ("mde", ev.mde is None))
                    if absent)
    if missing:
        reasons.append(Reason("mde", None, "interval includes 0; missing for reading it as no detectable "
                              "effect: " + ", ".join(missing)
                              + (f" (MDE: {ev.mde_reason})" if ev.mde is None and ev.mde_reason else ""),
                              {"missing": missing}))
        return done("inconclusive_incomplete", "mde", agreement=agree, missing=missing)
    reasons.append(Reason("mde", True, f"interval includes 0; minimum detectable effect {fmt_number(ev.mde)}",
                          {"mde": ev.mde, "estimate": h.estimate}))
    return done("no_detectable_effect", "mde", agreement=agree)


def verdict_from_results(results: Mapping[str, Any], robustness: Iterable[Mapping[str, Any]] = (),
                         rules: VerdictRules = VerdictRules(), unit_kind: str | None = None) -> Verdict:
    """:func:`decide` on :func:`evidence_from_results`."""
    return decide(evidence_from_results(results, robustness, unit_kind), rules)


def missing_verdict(model: str, outcome: str, reason: str = "no_run", unit_kind: str | None = None) -> Verdict:
    """The verdict of an outcome without usable results (``reason``: a NOT_ESTIMABLE code)."""
    return decide(Evidence(model=model, outcome=outcome, unit_kind=unit_kind, missing_reason=reason))


# --------------------------------------------------------------------------- sentences
#: Sentence templates by verdict (and variant) and language. Fields: ``subject``, ``est``
#: (number and unit), ``ci``, ``pre`` (pre-trend evidence), ``agree``, ``nvar``, ``mbar``,
#: ``mde`` (number and unit), ``size``, ``inference``, ``pmin``, ``ncomp``, ``missing``, ``reason``.
TEMPLATES: dict[str, dict[str, str]] = {
    "effect": {
        "en": "{subject}: effect. The estimate is {est} ({ci}). Parallel pre-trends are not rejected ({pre}), "
              "{agree} of {nvar} robustness variants agree in sign and significance{sens_en}.",
        "fi": "{subject}: vaikutus. Arvio on {est} ({ci}). Ennakkotrendien yhdensuuntaisuutta ei hylätä ({pre}), "
              "ja vaihtoehtoisista estimaateista {agree}/{nvar} tukee tulosta etumerkiltään ja "
              "merkitsevyydeltään{sens_fi}.",
        "sv": "{subject}: effekt. Skattningen är {est} ({ci}); förtrenderna förkastas inte ({pre}) och "
              "{agree} av {nvar} alternativa skattningar stöder resultatet.",
    },
    "no_detectable_effect": {
        "en": "{subject}: no detectable effect. The estimate is {est} ({ci}); the interval includes zero. "
              "Effects smaller than the minimum detectable effect of this design ({mde}) cannot be ruled out.",
        "fi": "{subject}: ei havaittavaa vaikutusta. Arvio on {est} ({ci}), ja väli sisältää nollan. "
              "Asetelman pienintä havaittavaa vaikutusta ({mde}) pienempiä vaikutuksia ei voida sulkea pois.",
        "sv": "{subject}: ingen påvisbar effekt. Skattningen är {est} ({ci}); effekter mindre än den minsta "
              "påvisbara effekten ({mde}) kan inte uteslutas.",
    },
    "inconclusive_pretrends": {
        "en": "{subject}: inconclusive (pre-trends). The pilot municipalities already diverged from the "
              "comparison municipalities before 2015 ({pre}), so the estimate of {est} cannot be read as an "
              "effect of the pilot.",
        "fi": "{subject}: ei johtopäätöstä (ennakkotrendit). Kokeilukunnat kehittyivät eri tavoin kuin "
              "vertailukunnat jo ennen vuotta 2015 ({pre}), joten arviota {est} ei voi tulkita kokeilun "
              "vaikutukseksi.",
        "sv": "{subject}: ingen slutsats (förtrender). Försökskommunerna utvecklades annorlunda än "
              "jämförelsekommunerna redan före 2015 ({pre}); skattningen {est} kan inte tolkas som en effekt.",
    },
    "inconclusive_not_robust": {
        "en": "{subject}: inconclusive (not robust). The headline estimate is {est} ({ci}), but only {agree} of "
              "{nvar} robustness variants agree with it in sign and significance.",
        "fi": "{subject}: ei johtopäätöstä (tulos ei ole vakaa). Pääarvio on {est} ({ci}), mutta "
              "vaihtoehtoisista estimaateista vain {agree}/{nvar} tukee sitä etumerkiltään ja merkitsevyydeltään.",
        "sv": "{subject}: ingen slutsats (inte robust). Skattningen är {est} ({ci}), men endast {agree} av "
              "{nvar} alternativa skattningar stöder den.",
    },
    "inconclusive_sensitivity": {
        "en": "{subject}: inconclusive (sensitive to trends). The estimate is {est} ({ci}), but its interval "
              "excludes zero only while post-pilot trend violations stay below {mbar} times the largest "
              "pre-pilot one (HonestDiD breakdown value).",
        "fi": "{subject}: ei johtopäätöstä (herkkä trendioletukselle). Arvio on {est} ({ci}), mutta väli "
              "ei sisällä nollaa vain, jos kokeilun jälkeinen trendipoikkeama on alle {mbar} kertaa suurin "
              "ennakkojakson poikkeama (HonestDiD).",
        "sv": "{subject}: ingen slutsats (känslig för trendantagandet). Skattningen är {est} ({ci}), men "
              "intervallet utesluter noll bara om trendavvikelsen efter försöket är mindre än {mbar} gånger "
              "den största före försöket (HonestDiD).",
    },
    "inconclusive_sensitivity_none": {
        "en": "{subject}: inconclusive (sensitive to trends). The estimate is {est} ({ci}), but no HonestDiD "
              "interval that allows for post-pilot trend violations excludes zero.",
        "fi": "{subject}: ei johtopäätöstä (herkkä trendioletukselle). Arvio on {est} ({ci}), mutta "
              "HonestDiD-väli sisältää nollan heti, kun kokeilun jälkeisiä trendipoikkeamia sallitaan.",
        "sv": "{subject}: ingen slutsats (känslig för trendantagandet). Skattningen är {est} ({ci}), men "
              "HonestDiD-intervallet omfattar noll så snart trendavvikelser efter försöket tillåts.",
    },
    "inconclusive_inference": {
        "en": "{subject}: inconclusive (inference). The estimate is {est} ({ci}), but on this panel's placebo "
              "layouts the headline test ({inference}) rejected a true null in {size} of draws at the 5% level, "
              "so its interval is too narrow to rely on.",
        "fi": "{subject}: ei johtopäätöstä (päättely). Arvio on {est} ({ci}), mutta päätesti ({inference}) "
              "hylkäsi tämän aineiston plasebo-asetelmissa paikkansapitävän nollahypoteesin {size}:ssa "
              "poiminnoista 5\u00a0%:n tasolla, joten väli on liian kapea luotettavaksi.",
        "sv": "{subject}: ingen slutsats (inferens). Huvudtestet ({inference}) förkastade en sann nollhypotes "
              "i {size} av placebodragningarna på 5\u00a0%-nivån; skattningen är {est}.",
    },
    "inconclusive_inference_pmin": {
        "en": "{subject}: inconclusive (inference). With {ncomp} placebo comparisons the smallest attainable "
              "p-value is {pmin}, so the test cannot show an effect at the 5% level; the estimate is {est}.",
        "fi": "{subject}: ei johtopäätöstä (päättely). Plasebovertailuja on {ncomp}, joten pienin "
              "saavutettava p-arvo on {pmin}, eikä testi voi osoittaa vaikutusta 5\u00a0%:n tasolla; arvio on {est}.",
        "sv": "{subject}: ingen slutsats (inferens). Med {ncomp} placebojämförelser är det minsta möjliga "
              "p-värdet {pmin}; skattningen är {est}.",
    },
    "inconclusive_incomplete": {
        "en": "{subject}: inconclusive (incomplete evidence). The estimate is {est} ({ci}), but {missing} "
              "{is_are} missing, so the rules cannot call it an effect.",
        "fi": "{subject}: ei johtopäätöstä (puutteellinen näyttö). Arvio on {est} ({ci}), mutta siitä "
              "puuttuu: {missing}.",
        "sv": "{subject}: ingen slutsats (ofullständigt underlag). Skattningen är {est} ({ci}); saknas: {missing}.",
    },
    "inconclusive_incomplete_mde": {
        "en": "{subject}: inconclusive (incomplete evidence). The estimate is {est} ({ci}) and the interval "
              "includes zero, but without {missing} the result cannot be read as the absence of an effect of "
              "any size.",
        "fi": "{subject}: ei johtopäätöstä (puutteellinen näyttö). Arvio on {est} ({ci}), ja väli sisältää "
              "nollan, mutta siitä puuttuu: {missing}; siksi tulosta ei voi lukea vaikutuksen puuttumiseksi.",
        "sv": "{subject}: ingen slutsats (ofullständigt underlag). Skattningen är {est} ({ci}) och intervallet "
              "omfattar noll, men {missing} saknas.",
    },
    "not_estimable": {
        "en": "{subject}: not estimable: {reason}.",
        "fi": "{subject}: ei estimoitavissa: {reason}.",
        "sv": "{subject}: kan inte skattas: {reason}.",
    },
}
#: Pre-trend evidence phrases.
_PRE = {"test": {"en": "pre-trend test {p}", "fi": "ennakkotrenditesti {p}", "sv": "förtrendstest {p}"},
        "year": {"en": "placebo start year {y}: {p}", "fi": "plasebo-aloitusvuosi {y}: {p}",
                 "sv": "placebostartår {y}: {p}"},
        "none": {"en": "no pre-trend test", "fi": "ei ennakkotrenditestiä", "sv": "inget förtrendstest"},
        "years_ok": {"en": "no placebo start year significant", "fi": "yksikään plasebo-aloitusvuosi ei ole "
                     "merkitsevä", "sv": "inget placebostartår signifikant"}}
_SENS = {"en": {"mbar": ", and the interval excludes zero for post-pilot trend violations up to {mbar} times the "
                        "largest pre-pilot one (HonestDiD)",
                "single": "; with one treated unit HonestDiD bounds do not apply"},
         "fi": {"mbar": ", ja väli ei sisällä nollaa, vaikka kokeilun jälkeinen trendipoikkeama olisi {mbar}-kertainen "
                        "suurimpaan ennakkojakson poikkeamaan nähden (HonestDiD)",
                "single": "; yhden kokeiluyksikön asetelmaan HonestDiD-rajoja ei voi laskea"}}
_AND = {"en": " and ", "fi": " ja ", "sv": " och "}


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + _AND[lang] + items[-1]


def _inference_name(name: str | None, lang: str) -> str:
    c = _canonical_inference(name)
    return INFERENCE_NAMES.get(c or "", {}).get(lang, str(name or ""))


def sentence_fields(v: Verdict, lang: str) -> dict[str, str]:
    """The formatted numbers and phrases the templates use, in ``lang``."""
    ev, h = v.evidence, v.evidence.headline
    f: dict[str, str] = {}
    unit_fallback = ev.unit_label if lang == "en" else ""
    if h is not None and finite(h.estimate):
        # one number of decimals for the estimate and its interval, from the largest magnitude
        digits = _digits(max(abs(x) for x in (h.estimate, h.ci_low, h.ci_high) if finite(x)))
        f["est"] = fmt_effect(h.estimate, ev.unit_kind, lang, digits, unit_fallback)
        f["ci"] = (fmt_ci(h.ci_low, h.ci_high, lang, digits) if h.has_interval
                   else _inference_name(h.inference, lang) + ", " + fmt_p(h.p_value, lang))
        f["inference"] = _inference_name(h.inference, lang)
    pre = []
    deciding = v.deciding_reason
    if v.code == "inconclusive_pretrends" and deciding is not None:
        for k, p in deciding.numbers.get("failures", ()):
            ptext = fmt_p(p, lang) if p is not None else "p < " + fmt_number(0.05, 2, lang)
            pre.append(_PRE["test"][lang].format(p=ptext) if k == "test" else _PRE["year"][lang].format(y=k, p=ptext))
    elif ev.pretrend_p is not None:
        pre.append(_PRE["test"][lang].format(p=fmt_p(ev.pretrend_p, lang)))
    elif ev.has_pretrend_evidence:
        pre.append(_PRE["years_ok"][lang])
    f["pre"] = "; ".join(pre) if pre else _PRE["none"][lang]
    f["agree"] = fmt_count(v.agreement.same_sign_significant, lang)
    f["nvar"] = fmt_count(v.agreement.n, lang)
    if ev.breakdown_mbar is not None:
        f["mbar"] = fmt_number(ev.breakdown_mbar, 1, lang)
    if ev.mde is not None:
        f["mde"] = fmt_effect(ev.mde, ev.unit_kind, lang, None, unit_fallback)
    if ev.size_rejection_rate is not None:
        f["size"] = fmt_percent(ev.size_rejection_rate, lang, 1)
    if ev.min_attainable_p is not None:
        f["pmin"] = fmt_number(ev.min_attainable_p, 3, lang)
        f["ncomp"] = fmt_count(ev.n_placebo_comparisons, lang) if ev.n_placebo_comparisons else "–"
    f["missing"] = _join([PIECES[m][lang] for m in v.missing], lang)
    f["is_are"] = "is" if len(v.missing) == 1 and v.missing[0] not in ("robustness", "honest_did") else "are"
    why = deciding.numbers.get("reason") if deciding is not None else None
    f["reason"] = NOT_ESTIMABLE.get(why or "", {}).get(lang, "")
    for lg in ("en", "fi"):
        if ev.single_unit:
            f[f"sens_{lg}"] = _SENS[lg]["single"]
        elif ev.breakdown_mbar is not None:
            f[f"sens_{lg}"] = _SENS[lg]["mbar"].format(mbar=fmt_number(ev.breakdown_mbar, 1, lg))
        else:
            f[f"sens_{lg}"] = ""
    return f


def _digits(x: float | None) -> int:
    from .formatting import decimals_for

    return decimals_for(float(x)) if finite(x) else 0


def template_key(v: Verdict) -> str:
    if v.code == "inconclusive_sensitivity" and v.evidence.breakdown_mbar is None:
        return "inconclusive_sensitivity_none"
    if v.code == "inconclusive_inference" and v.rule == "attainable_p":
        return "inconclusive_inference_pmin"
    if v.code == "inconclusive_incomplete" and v.rule == "mde":
        return "inconclusive_incomplete_mde"
    return v.code


def render_sentence(v: Verdict, lang: str = "en", subject: str | None = None) -> str:
    """Fill the verdict's template in ``lang``; ``subject`` names the model and outcome."""
    from .formatting import check_lang

    check_lang(lang)
    fields = sentence_fields(v, lang)
    fields["subject"] = subject or f"{v.evidence.model}, {v.evidence.outcome}"
    text = TEMPLATES[template_key(v)][lang].format(**fields)
    return re.sub(r"[ \t\n]+", " ", text).replace(" .", ".").strip()


# --------------------------------------------------------------------------- the rules as text
def rules_markdown(rules: VerdictRules = VerdictRules()) -> str:
    """The rules as a methods-chapter section (Markdown), with the thresholds in force."""
    pct = lambda x: fmt_percent(x, "en")  # noqa: E731
    return f"""\
Every headline in the summary carries a verdict from written rules over the evidence of its
model and outcome. The rules are applied in order and the first that fires decides; they can
only weaken a claim, so a summary sentence is never stronger than the evidence in the chapters.

1. *Not estimable* — there is no headline estimate, or it has neither a confidence interval nor a
   p-value, or the headline uses
   cluster-robust or wild-bootstrap inference with a single treated unit, where neither is valid.
2. *Inconclusive: pre-trends* — the pre-trend test rejects parallel pre-trends at the
   {pct(rules.pretrend_alpha)} level, or a placebo start year before 2015 gives an effect with
   p < {fmt_number(rules.pretrend_alpha, 2)}. A trend that was already there can fake an effect or hide one,
   so this rule applies whatever the estimate.

If the {pct(1 - rules.alpha)} confidence interval of the headline estimate excludes zero and its
p-value is below {fmt_number(rules.alpha, 2)} (where one of them is missing, the other decides):

3. *Inconclusive: inference* — on this panel's placebo layouts, the headline test rejected a true
   null hypothesis in more than {pct(rules.max_size)} of draws at the 5% level.
4. *Inconclusive: not robust* — a robustness variant (another estimator, control pool, window or
   break handling) is significant with the opposite sign, fewer than {pct(rules.min_sign_agreement)}
   of the variants share the headline's sign, or fewer than {pct(rules.min_significance_agreement)}
   share its sign and are significant.
5. *Inconclusive: sensitive to trends* — with two or more treated clusters, the HonestDiD breakdown
   value M̄ [@rambachan2023] is below {fmt_number(rules.min_breakdown_mbar, 1)}: the effect does not
   survive post-pilot trend violations as large as the largest pre-pilot one.
6. *Inconclusive: incomplete evidence* — a pre-trend test, a robustness variant, the size of the
   headline test on this panel, or (with two or more treated clusters) the HonestDiD bounds are
   missing.
7. *Effect* — none of the above.

If the interval includes zero:

8. *Inconclusive: inference* — the smallest p-value the headline test can attain
   (1 / (number of placebo comparisons + 1)) is above {fmt_number(rules.alpha, 2)}.
9. *Inconclusive: incomplete evidence* — no minimum detectable effect (MDE) was computed, or no
   pre-trend test: without them a null result cannot be read against any effect size.
10. *No detectable effect* — effects smaller than the MDE of the design cannot be ruled out.

An *effect* is an intention-to-treat difference relative to the comparison municipalities for
all municipalities named in the law, and it includes any other pilots run in the same places
at the same time. *No detectable effect* is not evidence of no effect.
"""


#: Former private name, kept for callers that imported it.
_headline_row = headline_row
