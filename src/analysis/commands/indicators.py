"""``kuntakokeilu indicators``: search the Sotkanet indicator catalogue, or list the outcome
catalogue (pilot model -> Sotkanet indicators and StatFin tables).

    kuntakokeilu indicators --search "17-24"
    kuntakokeilu indicators --model youth_guarantee
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("indicators", help="search Sotkanet indicators; list each model's outcome sources",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--search", default=None, metavar="TEXT",
                   help="words that must all occur in the indicator id or title (fi/sv/en); queries Sotkanet /indicators")
    p.add_argument("--model", default=None, help="list the outcome catalogue of one pilot model (offline)")
    p.add_argument("--catalogue", action="store_true", help="list the whole outcome catalogue (offline)")
    p.add_argument("--base-url", default=None, help="Sotkanet API root (default $KUNTAKOKEILU_SOTKANET_URL or the public API)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per connection/read (default 60)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import InputError

    if args.search is None and args.model is None and not args.catalogue:
        raise InputError("give --search TEXT (Sotkanet catalogue), --model MODEL or --catalogue (outcome catalogue)")
    if args.model is not None or args.catalogue:
        from ..live.catalogue import catalogue_for

        table = catalogue_for(args.model)
        cols = ["model", "variable", "source", "identifier", "label_en", "shipped_offline", "status"]
        print(table[cols].to_string(index=False))
    if args.search is not None:
        from ..live.sotkanet import SotkanetClient

        client = SotkanetClient(url=args.base_url, timeout=args.timeout)
        found = client.search_indicators(args.search)
        if found.empty:
            print(f"no Sotkanet indicator matches {args.search!r}")
            return 1
        found = found.assign(years=found["start"].astype(str) + "-" + found["end"].astype(str))
        print(found[["id", "title_fi", "title_en", "organization", "years"]].to_string(index=False))
    return 0
