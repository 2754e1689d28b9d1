"""``kuntakokeilu audit``: coverage of every outcome in the panel and the structural-break
audit (rule flags and known institutional / classification breaks)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="data audit: coverage per variable and structural breaks per series")
    p.add_argument("--panel", default=None, help="panel parquet (default data/processed/panel.parquet)")
    p.add_argument("--mainland", action="store_true", help="mainland municipalities only (exclude Åland)")
    p.add_argument("--variable", action="append", default=None,
                   help="audit only this panel variable (repeatable; default: every outcome and covariate)")
    p.add_argument("--z-own", type=float, default=None,
                   help="break rule: robust z against the municipality's own history (default 5)")
    p.add_argument("--z-national", type=float, default=None,
                   help="break rule: robust z against the other municipalities that year (default 5)")
    p.add_argument("--min-change", type=float, default=None,
                   help="break rule: smallest net log change flagged (default 0.15)")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="write coverage and breaks as JSON to FILE (or stdout without FILE)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from .. import atomic
    from ..audit import AUDIT_VARIABLES, BreakRule, audit_dict, breaks_table, coverage_table, structural_breaks
    from ..errors import InputError, choices_message
    from ..panel import load_panel

    panel = load_panel(args.panel)
    variables = args.variable
    for v in variables or ():
        if v not in panel.columns or v in ("kunta", "year"):
            raise InputError(choices_message("panel variable", v, [c for c in AUDIT_VARIABLES if c in panel.columns]))
    defaults = BreakRule()
    rule = BreakRule(z_own=defaults.z_own if args.z_own is None else args.z_own,
                     z_national=defaults.z_national if args.z_national is None else args.z_national,
                     min_log_change=defaults.min_log_change if args.min_change is None else args.min_change)
    breaks = structural_breaks(panel, variables, rule=rule)
    if args.json is not None:
        text = json.dumps(audit_dict(panel, breaks, rule, variables, mainland_only=args.mainland),
                          ensure_ascii=False, indent=2) + "\n"
        if args.json == "-":
            print(text, end="")
        else:
            atomic.write_text(args.json, text)
            print(f"wrote {args.json} ({len(breaks)} break rows)")
        return 0
    print(coverage_table(panel, variables=variables, mainland_only=args.mainland))
    print()
    print(f"structural breaks ({len(breaks)}): rule {rule_text(rule)} and data/reference/known_breaks.csv")
    print(breaks_table(breaks))
    return 0


def rule_text(rule) -> str:
    from ..audit import _rule_text

    return _rule_text(rule)
