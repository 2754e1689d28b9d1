"""Per-model outcome catalogue (evaluation guide § 1): which panel variables are the
outcomes and covariates of each pilot model, with labels, the post period, and how well each
outcome fits the pilot (:data:`FIT`):

* ``measures``: the series counts what the pilot changed (service use, recipients, jobseekers
  of the pilot's target group);
* ``proxy``: a broader or slower series that moves only partly with the pilot (total net
  costs of a whole sector; the all-age unemployment rate for a youth pilot; the
  upper-secondary share of everyone aged 15+, a slow stock, for a basic-education pilot).

Series that fit better but are not shipped offline are listed in
``data/reference/outcome_catalogue.csv`` with the ``kuntakokeilu fetch`` command that gets them."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InputError, choices_message

LABELS = {
    "social_health_costs_eur_per_capita": "Social and health care net costs (EUR/inh.)",
    "education_culture_costs_eur_per_capita": "Education and culture net costs (EUR/inh.)",
    "primary_care_outpatient_costs_eur_per_capita": "Primary-care outpatient net costs (EUR/inh.)",
    "social_assistance_eur_per_capita": "Social assistance (EUR/inh.)",
    "social_assistance_households_per_1000": "Social-assistance recipient households per 1,000 inh.",
    "social_assistance_recipients_share": "Persons receiving social assistance, % of inh. (2006-2011)",
    "youth_outside_education_share": "Aged 17-24 outside education, % (2006-2011)",
    "gp_visits_per_capita": "Primary-care GP visits per inhabitant (2013-2018)",
    "nurse_visits_per_capita": "Primary-care nurse visits per inhabitant (2013-2018)",
    "unemployment_rate": "Registered unemployment rate (%)",
    "employment_rate": "Employment rate (%)",
    "upper_secondary_share": "Upper-secondary qualification share, aged 15+ (%)",
    "population": "Population",
    "share_65_plus": "Share aged 65+ (%)",
}

OUTCOME_VARIABLES = (
    "social_health_costs_eur_per_capita", "education_culture_costs_eur_per_capita",
    "primary_care_outpatient_costs_eur_per_capita", "social_assistance_eur_per_capita",
    "social_assistance_households_per_1000", "unemployment_rate", "employment_rate",
    "upper_secondary_share", "social_assistance_recipients_share", "youth_outside_education_share",
    "gp_visits_per_capita", "nurse_visits_per_capita",
)
COVARIATE_VARIABLES = ("population", "share_65_plus", "employment_rate", "upper_secondary_share")


@dataclass(frozen=True)
class ModelOutcomes:
    model: str
    outcomes: tuple[str, ...]  # primary outcomes, first = headline
    secondary: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    post_years: tuple[int, ...] = (2015, 2016)
    last_year: int | None = None  # drop later years (series break)
    note: str = ""
    fit: dict = field(default_factory=dict)  # variable -> (measures | proxy, why)


CATALOGUE = {
    "integrated_welfare": ModelOutcomes(
        "integrated_welfare",
        ("social_health_costs_eur_per_capita", "primary_care_outpatient_costs_eur_per_capita",
         "gp_visits_per_capita", "nurse_visits_per_capita"),
        covariates=("share_65_plus", "population"),
        note="8 treated clusters; GP and nurse visits from 2013 only (two pre-period years)",
        fit={
            "social_health_costs_eur_per_capita": (
                "proxy", "net costs of all social and health care: the integrated service model is a small part"),
            "primary_care_outpatient_costs_eur_per_capita": (
                "proxy", "costs, not services; a 2015 drop in several pilot units looks like a reclassification"),
            "gp_visits_per_capita": (
                "measures", "primary-care physician visits: the service use the integrated model reorganised"),
            "nurse_visits_per_capita": (
                "measures", "primary-care nurse visits: the service use the integrated model reorganised"),
        }),
    "education_services": ModelOutcomes(
        "education_services",
        ("education_culture_costs_eur_per_capita", "upper_secondary_share"),
        covariates=("population",),
        note="1 treated cluster (Riihimäki group): synthetic control / SDID with placebo inference",
        fit={
            "education_culture_costs_eur_per_capita": (
                "proxy", "net costs of education and culture together: the pilot relaxed basic-education norms"),
            "upper_secondary_share": (
                "proxy", "share of everyone aged 15+ with an upper-secondary qualification: a slow stock that "
                         "two pilot years cannot move measurably"),
        }),
    "supervision": ModelOutcomes(
        "supervision", (), secondary=("social_health_costs_eur_per_capita",),
        covariates=("share_65_plus", "population"),
        note="process pilot without an outcome series: describe; costs only as a secondary check",
        fit={"social_health_costs_eur_per_capita": (
            "proxy", "the pilot relaxed supervision obligations; costs are only a secondary check")}),
    "housing_services": ModelOutcomes(
        "housing_services", ("social_health_costs_eur_per_capita",),
        covariates=("share_65_plus", "population"), note="4 treated clusters",
        fit={"social_health_costs_eur_per_capita": (
            "proxy", "net costs of all social and health care: housing services for older and disabled "
                     "people are one part")}),
    "kela_cooperation": ModelOutcomes(
        "kela_cooperation",
        ("social_assistance_eur_per_capita", "social_assistance_households_per_1000"),
        secondary=("social_assistance_recipients_share",), covariates=("unemployment_rate", "population"), last_year=2016,
        note="1 treated unit (Vantaa); basic social assistance moved to Kela on 1.1.2017, so post = 2015-2016 only",
        fit={
            "social_assistance_eur_per_capita": (
                "measures", "social assistance paid, the benefit the Kela cooperation handled"),
            "social_assistance_households_per_1000": (
                "measures", "recipient households: the longest consistent recipients series in the shipped "
                            "data (2010-2018); the persons' share (Sotkanet 493) ends in 2011"),
            "social_assistance_recipients_share": (
                "measures", "persons receiving social assistance; pre-period only (to 2011)"),
        }),
    "youth_guarantee": ModelOutcomes(
        "youth_guarantee", ("unemployment_rate",),
        secondary=("employment_rate", "youth_outside_education_share"),
        covariates=("population",),
        note="11 treated clusters; youth-specific series need the online loaders",
        fit={
            "unemployment_rate": (
                "proxy", "all ages; the pilot served young people (StatFin 12r5 TYOTTOMAT25, unemployed "
                         "jobseekers under 25, fits: see data/reference/youth_sources.md)"),
            "employment_rate": ("proxy", "all ages, annual"),
            "youth_outside_education_share": (
                "measures", "aged 17-24 outside education; shipped to 2011 only (pre-period)"),
        }),
}


def model_outcomes(model: str) -> ModelOutcomes:
    if model not in CATALOGUE:
        raise InputError(choices_message("model", model, CATALOGUE))
    return CATALOGUE[model]


def outcomes_of(model: str, include_secondary: bool = False) -> list[str]:
    m = model_outcomes(model)
    return list(m.outcomes) + (list(m.secondary) if include_secondary else [])


def outcome_fit(model: str, variable: str) -> tuple[str, str]:
    """``("measures" | "proxy", why)`` for an outcome of ``model`` (``("unrated", "")`` if the
    catalogue does not rate it)."""
    return model_outcomes(model).fit.get(variable, ("unrated", ""))


def fit_table() -> "list[dict]":
    """Every rated (model, outcome): model, variable, label, role (primary / secondary), fit, why."""
    rows = []
    for model, entry in CATALOGUE.items():
        for role, names in (("primary", entry.outcomes), ("secondary", entry.secondary)):
            for var in names:
                fit, why = entry.fit.get(var, ("unrated", ""))
                rows.append({"model": model, "variable": var, "label": label(var), "role": role,
                             "fit": fit, "why": why})
    return rows


def label(variable: str) -> str:
    return LABELS.get(variable, variable)
