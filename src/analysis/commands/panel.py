"""``kuntakokeilu panel``: build data/processed/panel.parquet and codebook.csv."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("panel", help="build the analysis panel (data/processed/panel.parquet) from data/raw",
                              description="Verify raw checksums, harmonise every source to the 2023 municipal "
                                          "division and write data/processed/panel.parquet and codebook.csv.")
    p.add_argument("--out", default=None, help="output parquet path (default data/processed/panel.parquet)")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..live.config import configured_series
    from ..panel import build_panel

    lines = []
    log = (lambda m: lines.append(m)) if args.quiet else (lambda m: print(f">> panel: {m}", flush=True))
    extra = configured_series()  # fetched snapshots declared in data/fetched_sources.yaml
    if extra:
        log(f"adding {len(extra)} fetched series from data/fetched_sources.yaml: {', '.join(s.name for s in extra)}")
    build_panel(extra_series=extra, out_path=args.out, log=log)
    if args.quiet and lines:
        print(f">> panel: {lines[-2] if len(lines) > 1 else lines[-1]}")
    return 0
