"""``kuntakokeilu design --model MODEL [--json]``: the comparison design of a model."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("design", help="treated units, control pool and exclusions of a pilot model")
    p.add_argument("--model", required=True, help="operating model, e.g. integrated_welfare")
    p.add_argument("--keep-other-pilots", action="store_true",
                   help="keep municipalities of other pilot models in the control pool")
    p.add_argument("--pool", choices=("default", "same_region", "matched"), default="default",
                   help="control pool: all eligible municipalities (default), those in the treated "
                        "municipalities' maakunta, or nearest neighbours on pre-period OUTCOME and size")
    p.add_argument("--outcome", default=None, help="panel variable for --pool matched")
    p.add_argument("--neighbours", type=int, default=5, help="neighbours per treated municipality (--pool matched)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..design import comparison_design, matched_controls, same_region_controls
    from ..errors import InputError

    design = comparison_design(args.model, keep_other_pilots=args.keep_other_pilots)
    if args.pool == "same_region":
        design = same_region_controls(design)
    elif args.pool == "matched":
        if not args.outcome:
            raise InputError("--pool matched needs --outcome (a panel variable, e.g. unemployment_rate)")
        from ..panel import load_panel

        design = matched_controls(design, load_panel(), args.outcome, n_neighbours=args.neighbours)
    data = design.to_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"model: {data['model']} (division {data['division_year']})")
    print(f"treated units ({len(data['treated_units'])}): {', '.join(data['treated_units'])}")
    print(f"treated municipalities ({len(data['treated_municipalities'])}): {' '.join(data['treated_municipalities'])}")
    print(f"control municipalities: {len(data['control_municipalities'])}")
    reasons: dict[str, int] = {}
    for reason in data["excluded"].values():
        reasons[reason] = reasons.get(reason, 0) + 1
    print(f"excluded ({len(data['excluded'])}):")
    for reason, n in sorted(reasons.items()):
        print(f"  {n:3d}  {reason}")
    return 0
