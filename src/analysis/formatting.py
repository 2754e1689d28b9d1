"""Numbers and units as the report prints them, in English, Finnish and Swedish.

One place for the typographic rules every generated text follows:

- numbers go through Babel's CLDR locale data (``babel.numbers.format_decimal``): decimal
  point and comma thousands separator in English, decimal comma and a no-break space as
  thousands separator in Finnish (``fi_FI``) and Swedish (``sv_FI``);
- a negative number carries the minus sign U+2212 (−), never a hyphen, in every language;
  a value that rounds to zero prints without a sign;
- decimals follow the magnitude (:func:`decimals_for`: 0 from 1,000, 1 from 10, 2 from 0.1,
  else 3; p-values 3; counts 0), so the same value prints with the same digits everywhere;
- p-values print as ``p = 0.046`` and, below 0.001, as ``p < 0.001`` (``p < 0,001``);
- an effect on an outcome measured in percent is a difference in percentage points
  ("percentage points", "prosenttiyksikköä", "procentenheter"), never "percent";
- unit words agree in number with the printed value (CLDR plural rules: singular only for
  a printed integer 1, so "1 percentage point" but "1.0 percentage points", "1,5 euroa").

Only formatting lives here: no numbers are computed.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from .errors import InputError, choices_message

#: Languages of the report and the CLDR locale used for each.
LOCALES = {"en": "en_GB", "fi": "fi_FI", "sv": "sv_FI"}
MINUS = "\u2212"
NBSP = "\u00a0"

#: Unit words of an *effect* (a difference) by unit kind and language: (singular, plural).
#: Percent outcomes differ in percentage points.
EFFECT_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "eur_per_capita": {"en": ("€ per inhabitant", "€ per inhabitant"),
                       "fi": ("euro asukasta kohden", "euroa asukasta kohden"),
                       "sv": ("euro per invånare", "euro per invånare")},
    "percent": {"en": ("percentage point", "percentage points"),
                "fi": ("prosenttiyksikkö", "prosenttiyksikköä"),
                "sv": ("procentenhet", "procentenheter")},
    "per_1000": {"en": ("per 1,000 inhabitants", "per 1,000 inhabitants"),
                 "fi": (f"1{NBSP}000 asukasta kohden", f"1{NBSP}000 asukasta kohden"),
                 "sv": (f"per 1{NBSP}000 invånare", f"per 1{NBSP}000 invånare")},
    "persons": {"en": ("person", "persons"), "fi": ("henkilö", "henkilöä"),
                "sv": ("person", "personer")},
    "visits_per_capita": {"en": ("visit per inhabitant", "visits per inhabitant"),
                          "fi": ("käynti asukasta kohden", "käyntiä asukasta kohden"),
                          "sv": ("besök per invånare", "besök per invånare")},
}
#: Short unit labels for table headers and axis labels (effects: percentage points).
SHORT_UNITS: dict[str, dict[str, str]] = {
    "eur_per_capita": {"en": "€/inhabitant", "fi": "€/asukas", "sv": "€/invånare"},
    "percent": {"en": "percentage points", "fi": "prosenttiyksikköä", "sv": "procentenheter"},
    "per_1000": {"en": "per 1,000 inhabitants", "fi": f"/1{NBSP}000 asukasta",
                 "sv": f"/1{NBSP}000 invånare"},
    "persons": {"en": "persons", "fi": "henkilöä", "sv": "personer"},
    "visits_per_capita": {"en": "visits/inhabitant", "fi": "käyntiä/asukas", "sv": "besök/invånare"},
}
#: Unit kinds by the unit labels results files and the outcome catalogue use.
UNIT_KIND_ALIASES = {
    "eur per inhabitant": "eur_per_capita", "€ per inhabitant": "eur_per_capita",
    "eur/inh.": "eur_per_capita", "€/inh.": "eur_per_capita", "eur_per_capita": "eur_per_capita",
    "percent": "percent", "%": "percent", "per cent": "percent",
    "per 1000": "per_1000", "per 1,000 inh.": "per_1000", "per_1000": "per_1000",
    "persons": "persons", "visits per inhabitant": "visits_per_capita",
}


def check_lang(lang: str) -> str:
    if lang not in LOCALES:
        raise InputError(choices_message("language", lang, LOCALES))
    return lang


def unit_kind_of(text: str | None) -> str | None:
    """The unit kind (``eur_per_capita``, ``percent``, ``per_1000``, ``persons``) of a unit
    label, or ``None`` if it is not recognised."""
    if not text:
        return None
    t = str(text).strip().lower()
    if t in UNIT_KIND_ALIASES:
        return UNIT_KIND_ALIASES[t]
    if "%" in t or "percent" in t:
        return "percent"
    if "visits" in t:
        return "visits_per_capita"
    if "1000" in t.replace(",", "").replace(" ", ""):
        return "per_1000"
    if "eur" in t or "€" in t:
        return "eur_per_capita"
    return None


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def decimals_for(value: float, kind: str = "estimate") -> int:
    """Decimals used to print ``value``: p-values 3; counts 0; estimates by magnitude."""
    if kind == "p":
        return 3
    if kind == "count":
        return 0
    a = abs(value)
    if a >= 1000:
        return 0
    if a >= 10:
        return 1
    if a >= 0.1 or a == 0:
        return 2
    return 3


def _rounded(value: float, digits: int) -> Decimal:
    """``value`` rounded by Python's own formatting (the same digits as ``f"{x:.{d}f}"``)."""
    d = Decimal(f"{float(value):.{digits}f}")
    return d.copy_abs() if d == 0 else d


def fmt_number(value: float | int, digits: int | None = None, lang: str = "en", *,
               kind: str = "estimate") -> str:
    """``value`` with ``digits`` decimals (default :func:`decimals_for`) in the locale of
    ``lang``, minus sign U+2212; ``–`` (en dash) for a missing or non-finite value."""
    from babel.numbers import format_decimal

    check_lang(lang)
    if not finite(value):
        return "–"
    d = decimals_for(float(value), kind) if digits is None else int(digits)
    pattern = "#,##0" + ("." + "0" * d if d > 0 else "")
    text = format_decimal(_rounded(value, d), format=pattern, locale=LOCALES[lang])
    return text.replace("-", MINUS).replace("\u2212", MINUS)


def fmt_count(value: int | float, lang: str = "en") -> str:
    return fmt_number(value, 0, lang, kind="count")


def fmt_p(p: float | None, lang: str = "en") -> str:
    """``p = 0.046``; ``p < 0.001`` below 0.001 (decimal comma in Finnish and Swedish)."""
    if not finite(p):
        return "p –"
    if 0 <= float(p) < 0.001:
        return f"p < {fmt_number(0.001, 3, lang)}"
    return f"p = {fmt_number(p, 3, lang)}"


def fmt_p_value(p: float | None, lang: str = "en") -> str:
    """The p-value alone for a table cell: ``0.046`` or ``< 0.001``."""
    if not finite(p):
        return "–"
    if 0 <= float(p) < 0.001:
        return f"< {fmt_number(0.001, 3, lang)}"
    return fmt_number(p, 3, lang)


def fmt_percent(share: float, lang: str = "en", digits: int = 0) -> str:
    """A share (0.12) as a percentage: ``12%`` in English, ``12 %`` (no-break space) in
    Finnish and Swedish."""
    if not finite(share):
        return "–"
    text = fmt_number(100 * float(share), digits, lang)
    return text + ("%" if lang == "en" else f"{NBSP}%")


def fmt_ci(lo: float | None, hi: float | None, lang: str = "en", digits: int | None = None,
           level: float = 0.95) -> str:
    """``95% CI −69.0 to −0.8`` / ``95 %:n luottamusväli −69,0…−0,8`` /
    ``95 % konfidensintervall −69,0 till −0,8``; both bounds with the same decimals."""
    if not (finite(lo) and finite(hi)):
        return {"en": "no confidence interval", "fi": "ei luottamusväliä",
                "sv": "inget konfidensintervall"}[check_lang(lang)]
    if digits is None:
        digits = max(decimals_for(float(lo)), decimals_for(float(hi)))
    a, b = fmt_number(lo, digits, lang), fmt_number(hi, digits, lang)
    pct = fmt_percent(level, lang)
    if lang == "fi":
        return f"{pct}:n luottamusväli {a}…{b}"
    if lang == "sv":
        return f"{pct} konfidensintervall {a} till {b}"
    return f"{pct} CI {a} to {b}"


def fmt_interval(lo: float | None, hi: float | None, lang: str = "en", digits: int | None = None) -> str:
    """``[−69.0, −0.8]`` (``[−69,0; −0,8]`` with a decimal comma)."""
    if not (finite(lo) and finite(hi)):
        return "–"
    if digits is None:
        digits = max(decimals_for(float(lo)), decimals_for(float(hi)))
    sep = ", " if lang == "en" else "; "
    return f"[{fmt_number(lo, digits, lang)}{sep}{fmt_number(hi, digits, lang)}]"


def is_singular(text: str, lang: str = "en") -> bool:
    """CLDR plural category ``one`` for a printed number (``1`` yes; ``1.0``, ``1,5``, ``2`` no)."""
    from babel import Locale

    t = text.replace(MINUS, "").replace("-", "").replace(NBSP, "").replace(",", ".")
    if lang == "en":
        t = text.replace(MINUS, "").replace("-", "").replace(",", "")
    try:
        number = Decimal(t)
    except ArithmeticError:
        return False
    return Locale.parse(LOCALES[check_lang(lang)]).plural_form(number) == "one"


def effect_unit(value_text: str, unit_kind: str | None, lang: str = "en", fallback: str = "") -> str:
    """Unit words for an effect printed as ``value_text`` (``percent`` -> percentage points),
    in the grammatical number the printed value needs."""
    forms = EFFECT_UNITS.get(unit_kind or "", {}).get(check_lang(lang))
    if forms is None:
        return fallback
    return forms[0] if is_singular(value_text, lang) else forms[1]


def fmt_effect(value: float | None, unit_kind: str | None, lang: str = "en", digits: int | None = None,
               fallback_unit: str = "") -> str:
    """A number and its effect unit: ``−159.1 € per inhabitant``, ``−0,46 prosenttiyksikköä``."""
    text = fmt_number(value, digits, lang)
    if text == "–":
        return text
    unit = effect_unit(text, unit_kind, lang, fallback_unit)
    return f"{text} {unit}".strip()


def short_unit(unit_kind: str | None, lang: str = "en", fallback: str = "") -> str:
    return SHORT_UNITS.get(unit_kind or "", {}).get(check_lang(lang), fallback)
