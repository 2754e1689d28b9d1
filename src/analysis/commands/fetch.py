"""``kuntakokeilu fetch``: download a Sotkanet indicator or a StatFin table into a new snapshot.

    kuntakokeilu fetch sotkanet --indicator 3219 --years 2006-2023
    kuntakokeilu fetch statfin --table StatFin/vaerak/statfin_vaerak_pxt_11rc.px --query q.json

The snapshot goes to ``data/raw/`` under a new dated name with a manifest row (URL, query,
retrieval time, sha256, licence); existing files are never overwritten, and a failed run
writes nothing. ``--base-url`` (or ``KUNTAKOKEILU_SOTKANET_URL`` / ``KUNTAKOKEILU_PXWEB_URL``)
points the client at a mirror or a test server. ``--panel-variable NAME`` also declares the
snapshot in ``data/fetched_sources.yaml`` so that ``kuntakokeilu panel`` uses it.
"""
from __future__ import annotations

import sys


def _common(p) -> None:
    p.add_argument("--base-url", default=None,
                   help="API root (default: $KUNTAKOKEILU_SOTKANET_URL / $KUNTAKOKEILU_PXWEB_URL or the public service)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per connection/read (default 60)")
    p.add_argument("--retries", type=int, default=5, help="retries on timeouts, 429 and 5xx (default 5)")
    p.add_argument("--root", default=None, help="project root to write into (default: this project)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--panel-variable", default=None, metavar="NAME",
                   help="also declare the snapshot in data/fetched_sources.yaml as panel variable NAME")
    p.add_argument("--aggregation", default="population_weighted_mean", choices=("population_weighted_mean", "sum"),
                   help="with --panel-variable: how merged municipalities combine (default population_weighted_mean)")
    p.add_argument("--unit", default="", help="with --panel-variable: unit of the values")
    p.add_argument("--label", default="", help="with --panel-variable: label (English)")


def require_writable(*targets) -> None:
    """Refuse before any download when a file (or the folder that would hold it) is read-only."""
    import os
    from pathlib import Path

    from ..errors import InputError

    for target in targets:
        target = Path(target)
        probe = target if target.exists() else target.parent
        if probe.exists() and not os.access(probe, os.W_OK):
            raise InputError(f"cannot write {target}: {probe} is read-only; `kuntakokeilu fetch` adds a "
                             "snapshot file to data/raw and a row to its MANIFEST.csv (make them writable, "
                             "or fetch into another project with --root)")


def register(subparsers) -> None:
    p = subparsers.add_parser("fetch", help="download a Sotkanet indicator or a StatFin table into data/raw",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="service", metavar="SERVICE")
    s = sub.add_parser("sotkanet", help="THL Sotkanet REST API 1.1 indicator (municipalities)")
    s.add_argument("--indicator", type=int, required=True, help="Sotkanet indicator id (see kuntakokeilu indicators)")
    s.add_argument("--years", default="2006-2023", help="years, e.g. 2006-2023 or 2015,2016 (default 2006-2023)")
    s.add_argument("--gender", default="total", help="comma-separated: total, male, female (default total)")
    _common(s)
    s.set_defaults(func=run)
    t = sub.add_parser("statfin", help="Statistics Finland PxWeb v1 table (json-stat2)")
    t.add_argument("--table", required=True,
                   help="table path under the API root, e.g. StatFin/vaerak/statfin_vaerak_pxt_11rc.px")
    t.add_argument("--query", default=None, metavar="FILE",
                   help="PxWeb query JSON (plain, saved-query or request form); default: the whole table")
    t.add_argument("--max-values", type=int, default=None, help="values per request (default 120000)")
    _common(t)
    t.set_defaults(func=run)
    r = sub.add_parser("preset", help="a ready-made fetch that also declares its panel series "
                                      "(youth_jobseekers: StatFin 12r5 unemployed jobseekers under 25)")
    r.add_argument("name", help="preset name, e.g. youth_jobseekers (see analysis.live.presets)")
    r.add_argument("--base-url", default=None, help="API root (default: $KUNTAKOKEILU_PXWEB_URL or the public service)")
    r.add_argument("--timeout", type=float, default=60.0, help="seconds per connection/read (default 60)")
    r.add_argument("--retries", type=int, default=5, help="retries on timeouts, 429 and 5xx (default 5)")
    r.add_argument("--root", default=None, help="project root to write into (default: this project)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=run_preset)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_preset(args) -> int:
    from ..live import presets, pxweb
    from ..live.config import default_config_path
    from ..live.snapshots import default_raw_dir

    presets.preset(args.name)
    client = pxweb.PxWebClient(url=args.base_url, timeout=args.timeout, max_retries=args.retries)
    cfg = default_config_path(args.root)
    result = presets.run_preset(args.name, client=client, raw_dir=default_raw_dir(args.root), config_path=cfg,
                                progress=not args.quiet)
    names = ", ".join(s["name"] for s in presets.preset(args.name)["series"])
    print(f">> fetch: wrote {result.path} ({result.rows} rows, {result.requests} request(s))")
    print(f">> fetch: declared {names} in {cfg}; run `kuntakokeilu panel` (or `make data`) to add them")
    return 0


def run(args) -> int:
    import json
    from pathlib import Path

    from ..errors import InputError
    from ..live import fetchers, pxweb, sotkanet
    from ..live.config import add_entry, default_config_path
    from ..live.snapshots import default_raw_dir

    raw_dir = default_raw_dir(args.root)
    require_writable(raw_dir, raw_dir / "MANIFEST.csv", default_config_path(args.root))
    options = dict(timeout=args.timeout, max_retries=args.retries)
    progress = not args.quiet
    if args.service == "sotkanet":
        years = sotkanet.parse_years(args.years)
        genders = [g.strip() for g in args.gender.split(",") if g.strip()]
        client = sotkanet.SotkanetClient(url=args.base_url, **options)
        result = fetchers.fetch_sotkanet(args.indicator, years, genders, client=client, raw_dir=raw_dir,
                                         progress=progress)
    else:
        query = None
        if args.query:
            qpath = Path(args.query)
            if not qpath.exists():
                raise InputError(f"query file {qpath} does not exist")
            try:
                query = json.loads(qpath.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InputError(f"query file {qpath} is not valid JSON: {exc}") from exc
        client = pxweb.PxWebClient(url=args.base_url, max_values=args.max_values or pxweb.MAX_VALUES, **options)
        result = fetchers.fetch_statfin(args.table, query, client=client, raw_dir=raw_dir, progress=progress)
    print(f">> fetch: wrote {result.path} ({result.rows} rows, {result.requests} request(s))")
    print(f">> fetch: manifest row added to {raw_dir / 'MANIFEST.csv'} ({result.provenance.licence}, "
          f"retrieved {result.provenance.retrieved_iso})")
    entry = {"name": args.panel_variable or "<panel_variable>", "snapshot": result.name, "kind": args.service,
             "aggregation": args.aggregation, "unit": args.unit or "<unit>",
             "label_en": args.label or result.provenance.original_id, "label_fi": args.label or result.provenance.original_id}
    if args.service == "sotkanet":
        entry["gender"] = genders[0]
    if args.panel_variable:
        cfg = add_entry(entry, default_config_path(args.root))
        print(f">> fetch: declared {args.panel_variable} in {cfg}; `kuntakokeilu panel` will use it")
    else:
        print(">> fetch: to use it in the panel, add an entry to data/fetched_sources.yaml, e.g.", file=sys.stderr)
        print("   " + json.dumps(entry, ensure_ascii=False), file=sys.stderr)
    return 0
