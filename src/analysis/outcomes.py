"""Per-model outcome catalogue (evaluation guide § 1): which panel variables are the
outcomes and covariates of each pilot model, with labels and the post period."""
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


CATALOGUE = {
    "integrated_welfare": ModelOutcomes(
        "integrated_welfare",
        ("social_health_costs_eur_per_capita", "primary_care_outpatient_costs_eur_per_capita"),
        covariates=("share_65_plus", "population"),
        note="8 treated clusters"),
    "education_services": ModelOutcomes(
        "education_services",
        ("education_culture_costs_eur_per_capita", "upper_secondary_share"),
        covariates=("population",),
        note="1 treated cluster (Riihimäki group): synthetic control / SDID with placebo inference"),
    "supervision": ModelOutcomes(
        "supervision", (), secondary=("social_health_costs_eur_per_capita",),
        covariates=("share_65_plus", "population"),
        note="process pilot without an outcome series: describe; costs only as a secondary check"),
    "housing_services": ModelOutcomes(
        "housing_services", ("social_health_costs_eur_per_capita",),
        covariates=("share_65_plus", "population"), note="4 treated clusters"),
    "kela_cooperation": ModelOutcomes(
        "kela_cooperation",
        ("social_assistance_eur_per_capita", "social_assistance_households_per_1000"),
        secondary=("social_assistance_recipients_share",), covariates=("unemployment_rate", "population"), last_year=2016,
        note="1 treated unit (Vantaa); basic social assistance moved to Kela on 1.1.2017, so post = 2015-2016 only"),
    "youth_guarantee": ModelOutcomes(
        "youth_guarantee", ("unemployment_rate",),
        secondary=("employment_rate", "youth_outside_education_share"),
        covariates=("population",),
        note="11 treated clusters; youth-specific series need the online loaders"),
}


def model_outcomes(model: str) -> ModelOutcomes:
    if model not in CATALOGUE:
        raise InputError(choices_message("model", model, CATALOGUE))
    return CATALOGUE[model]


def outcomes_of(model: str, include_secondary: bool = False) -> list[str]:
    m = model_outcomes(model)
    return list(m.outcomes) + (list(m.secondary) if include_secondary else [])


def label(variable: str) -> str:
    return LABELS.get(variable, variable)
