"""``kuntakokeilu design --model MODEL [--outcome OUTCOME] [--json]``: the comparison design of
a model for one outcome (default: the model's headline outcome), with every exclusion and
its reason."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    from ..study import CONTROL_POOLS, MATCHED_CONTROLS

    p = subparsers.add_parser("design", help="treated units, control pool and exclusions of a pilot model")
    p.add_argument("--model", required=True, help="operating model, e.g. integrated_welfare")
    p.add_argument("--outcome", default=None,
                   help="panel variable analysed (default: the model's headline outcome); its series "
                        "breaks decide which controls leave the pool")
    p.add_argument("--pool", choices=CONTROL_POOLS, default="default",
                   help="control pool: non-pilot municipalities (default), also other models' pilot "
                        "municipalities (keep_other_pilots), the treated municipalities' maakunta "
                        "(same_region), or nearest neighbours on pre-period OUTCOME and size (matched)")
    p.add_argument("--keep-other-pilots", action="store_true",
                   help="same as --pool keep_other_pilots")
    p.add_argument("--breaks", choices=("exclude", "keep"), default="exclude",
                   help="exclude (default) or keep control municipalities whose outcome series breaks "
                        "inside the window (keep: robustness variant)")
    p.add_argument("--years", default=None, metavar="FIRST-LAST",
                   help="analysis window, e.g. 2010-2018 (default: every year with data on the outcome)")
    p.add_argument("--neighbours", type=int, default=MATCHED_CONTROLS,
                   help=f"neighbours per treated municipality (--pool matched; default {MATCHED_CONTROLS})")
    p.add_argument("--panel", default=None, help="panel parquet (default data/processed/panel.parquet)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _years(text: str | None):
    from ..errors import InputError

    if text is None:
        return None
    try:
        first, last = (int(part) for part in text.split("-"))
    except ValueError:
        raise InputError(f"--years must be FIRST-LAST, e.g. 2010-2018, got {text!r}") from None
    if first > last:
        raise InputError(f"--years {text}: the first year is after the last")
    return range(first, last + 1)


def run(args) -> int:
    from .. import registry
    from ..design import design_for
    from ..errors import InputError, choices_message
    from ..panel import load_panel

    if args.model not in registry.models():
        raise InputError(choices_message("model", args.model, registry.models()))
    if args.neighbours < 1:
        raise InputError(f"--neighbours must be at least 1, got {args.neighbours}")
    pool = "keep_other_pilots" if args.keep_other_pilots and args.pool == "default" else args.pool
    years = _years(args.years)
    design = design_for(load_panel(args.panel), args.model, args.outcome, control_pool=pool, years=years,
                        breaks=args.breaks, n_matched=args.neighbours)
    data = design.to_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"model: {data['model']} (division {data['division_year']}), outcome {data['outcome']}, "
          f"{data['years'][0]}-{data['years'][1]}, pool {data['control_pool']}, breaks: {data['breaks']}")
    print(f"treated units ({len(data['treated_units'])}): {', '.join(data['treated_units'])}")
    print(f"treated municipalities ({len(data['treated_municipalities'])}): {' '.join(data['treated_municipalities'])}")
    print(f"control municipalities: {len(data['control_municipalities'])}")
    reasons: dict[str, int] = {}
    for reason in data["excluded"].values():
        short = reason.split(": ")[0] if reason.startswith(("series break", "incomplete", "pilot municipality")) else reason
        reasons[short] = reasons.get(short, 0) + 1
    print(f"excluded ({len(data['excluded'])}):")
    for reason, n in sorted(reasons.items()):
        print(f"  {n:3d}  {reason}")
    breaks = {k: v for k, v in data["excluded"].items() if v.startswith("series break")}
    for code, reason in breaks.items():
        print(f"       {code}: {reason.split(': ', 1)[1][:150]}")
    for flag in data["treated_break_flags"]:
        print(f"  flagged (treated, kept): {flag['kunta']} {flag['municipality_name']} {flag['year']}: "
              f"{flag['reason'][:120]}")
    return 0
