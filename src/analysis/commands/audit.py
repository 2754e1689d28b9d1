"""``kuntakokeilu audit``: coverage of every outcome in the panel."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="coverage audit: years, municipalities and missing share per outcome")
    p.add_argument("--panel", default=None, help="panel parquet (default data/processed/panel.parquet)")
    p.add_argument("--mainland", action="store_true", help="mainland municipalities only (exclude Åland)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..audit import coverage_table
    from ..panel import load_panel

    panel = load_panel(args.panel)
    print(coverage_table(panel, mainland_only=args.mainland))
    return 0
