"""Ready-made fetch configurations: one command fetches a table and declares its panel series.

    kuntakokeilu fetch preset youth_jobseekers

``youth_jobseekers``: Statistics Finland / TEM employment-service statistics, StatFin table
``StatFin/tyonv/statfin_tyonv_pxt_12r5.px`` (jobseekers and vacancies by municipality, month
end, 2006-), variables ``TYOTTOMAT25`` (unemployed jobseekers under 25, "Alle 25-v. työttömät
työnhakijat") and ``TYOTTOMATLOPUSSA`` (all unemployed jobseekers), every municipality and
month. The panel gets the annual means of the month-end counts (summed over merged
municipalities) as ``youth_unemployed_jobseekers`` and ``unemployed_jobseekers``, and
:func:`analysis.panel.build_panel` derives ``youth_unemployed_per_1000`` (per 1,000
inhabitants) and ``youth_share_of_unemployed`` (%). These measure what the youth-guarantee
pilot (municipal employment services for young people) changed better than the all-age
unemployment rate, which is a proxy. Licence CC BY 4.0, "Source: Statistics Finland".
"""
from __future__ import annotations

from ..errors import InputError, choices_message

YOUTH_TABLE = "StatFin/tyonv/statfin_tyonv_pxt_12r5.px"

PRESETS: dict[str, dict] = {
    "youth_jobseekers": {
        "service": "statfin",
        "table": YOUTH_TABLE,
        "query": {
            "query": [
                {"code": "Alue", "selection": {"filter": "all", "values": ["*"]}},
                {"code": "Kuukausi", "selection": {"filter": "all", "values": ["*"]}},
                {"code": "Tiedot", "selection": {"filter": "item", "values": ["TYOTTOMAT25", "TYOTTOMATLOPUSSA"]}},
            ],
            "response": {"format": "json-stat2"},
        },
        "series": [
            {"name": "youth_unemployed_jobseekers", "kind": "statfin", "aggregation": "sum",
             "unit": "persons (annual mean of month-end counts)",
             "label_en": "Unemployed jobseekers aged under 25 (annual mean of month ends)",
             "label_fi": "Alle 25-vuotiaat työttömät työnhakijat (kuukausien keskiarvo)",
             "region": "Alue", "year": "Kuukausi", "period": "month", "filters": {"Tiedot": "TYOTTOMAT25"},
             "bounds": [0, 1000000]},
            {"name": "unemployed_jobseekers", "kind": "statfin", "aggregation": "sum",
             "unit": "persons (annual mean of month-end counts)",
             "label_en": "Unemployed jobseekers (annual mean of month ends)",
             "label_fi": "Työttömät työnhakijat (kuukausien keskiarvo)",
             "region": "Alue", "year": "Kuukausi", "period": "month", "filters": {"Tiedot": "TYOTTOMATLOPUSSA"},
             "bounds": [0, 1000000]},
        ],
    },
}


def preset(name: str) -> dict:
    """The preset ``name`` (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise InputError(choices_message("fetch preset", name, PRESETS))
    return PRESETS[name]


def run_preset(name: str, *, client=None, raw_dir=None, config_path=None, progress: bool = False):
    """Fetch the preset's table into a new snapshot and declare its series in
    ``data/fetched_sources.yaml`` (entries already declared under the same name are an error,
    before anything is downloaded). Returns the :class:`~analysis.live.fetchers.FetchResult`."""
    from . import fetchers
    from .config import add_entry, default_config_path, read_config

    spec = preset(name)
    cfg = config_path if config_path is not None else default_config_path()
    declared = {e["name"] for e in read_config(cfg)}
    clash = [s["name"] for s in spec["series"] if s["name"] in declared]
    if clash:
        raise InputError(f"{cfg} already declares {', '.join(clash)}; remove those entries to fetch the preset again")
    result = fetchers.fetch_statfin(spec["table"], spec["query"], client=client, raw_dir=raw_dir, progress=progress)
    for series in spec["series"]:
        add_entry({**series, "snapshot": result.name}, cfg)
    return result
