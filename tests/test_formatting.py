"""Locale formatting of numbers and units (Babel CLDR data) and the codebook of names."""
from __future__ import annotations

import pytest

from analysis import codebook
from analysis.errors import InputError
from analysis.formatting import (MINUS, NBSP, fmt_ci, fmt_effect, fmt_interval, fmt_number, fmt_p,
                                 fmt_p_value, fmt_percent, is_singular, unit_kind_of)


def test_minus_sign_decimal_comma_and_grouping():
    assert fmt_number(-159.123) == f"{MINUS}159.1"
    assert fmt_number(-159.123, lang="fi") == f"{MINUS}159,1"
    assert fmt_number(-159.123, lang="sv") == f"{MINUS}159,1"
    assert fmt_number(12345.6) == "12,346"
    assert fmt_number(12345.6, lang="fi") == f"12{NBSP}346"
    assert fmt_number(-0.004, 2) == "0.00"          # no signed zero
    assert fmt_number(float("nan")) == "–" and fmt_number(None) == "–"
    assert "-" not in fmt_number(-3.5, lang="en")


def test_rounding_matches_python_formatting():
    for x in (0.125, 2.675, -1.005, 1234.5, 0.0005):
        for d in (0, 1, 2, 3):
            expected = f"{x:.{d}f}"
            expected = expected.lstrip("-") if float(expected) == 0 else expected
            assert fmt_number(x, d).replace(MINUS, "-").replace(",", "") == expected


def test_p_values():
    assert fmt_p(0.0004) == "p < 0.001" and fmt_p(0.0004, "fi") == "p < 0,001"
    assert fmt_p(0.04567) == "p = 0.046" and fmt_p(0.04567, "sv") == "p = 0,046"
    assert fmt_p_value(0.0001) == "< 0.001" and fmt_p_value(None) == "–"


def test_intervals_and_percent():
    assert fmt_ci(-300.2, -18.01) == f"95% CI {MINUS}300.2 to {MINUS}18.0"
    assert fmt_ci(-300.2, -18.01, "fi") == f"95{NBSP}%:n luottamusväli {MINUS}300,2…{MINUS}18,0"
    assert fmt_interval(-1.5, 2.25, "fi") == f"[{MINUS}1,50; 2,25]"
    assert fmt_percent(0.123, "fi") == f"12{NBSP}%" and fmt_percent(0.123) == "12%"


def test_percentage_points_and_plurals():
    assert fmt_effect(-0.46, "percent") == f"{MINUS}0.46 percentage points"
    assert fmt_effect(-0.46, "percent", "fi") == f"{MINUS}0,46 prosenttiyksikköä"
    assert fmt_effect(1, "percent", "en", digits=0) == "1 percentage point"
    assert fmt_effect(1, "percent", "fi", digits=0) == "1 prosenttiyksikkö"
    assert fmt_effect(1, "percent", "sv", digits=0) == "1 procentenhet"
    assert fmt_effect(1.0, "percent", "en", digits=1) == "1.0 percentage points"
    assert fmt_effect(1, "eur_per_capita", "fi", digits=0) == "1 euro asukasta kohden"
    assert fmt_effect(30.2, "eur_per_capita", "fi") == "30,2 euroa asukasta kohden"
    assert is_singular(f"{MINUS}1") and not is_singular("1,0", "fi") and not is_singular("1,000")


def test_unit_kinds_and_language_errors():
    assert unit_kind_of("EUR per inhabitant") == "eur_per_capita"
    assert unit_kind_of("% of inhabitants") == "percent"
    assert unit_kind_of("per 1,000 inh.") == "per_1000"
    assert unit_kind_of("visits per inhabitant") == "visits_per_capita"
    assert fmt_effect(0.25, "visits_per_capita", "fi") == "0,25 käyntiä asukasta kohden"
    assert unit_kind_of("widgets") is None
    with pytest.raises(InputError, match="valid choices: en, fi, sv"):
        fmt_number(1.0, lang="de")


def test_codebook_covers_every_outcome_in_three_languages():
    from analysis.outcomes import CATALOGUE, LABELS

    outcomes = set(LABELS) | {o for m in CATALOGUE.values() for o in (*m.outcomes, *m.secondary, *m.covariates)}
    for o in outcomes:
        assert codebook.has("outcome", o), o
        assert codebook.unit_kind(o) in ("eur_per_capita", "percent", "per_1000", "persons",
                                         "visits_per_capita"), o
        names = {lang: codebook.outcome_name(o, lang) for lang in ("en", "fi", "sv")}
        assert len(set(names.values())) == 3, names
    for m in CATALOGUE:
        assert codebook.model_name(m, "fi") != codebook.model_name(m, "en")
    assert codebook.outcome_name("nope", "fi", fallback="x") == "x"
