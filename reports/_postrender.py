# Quarto post-render script (reports/_quarto.yml): keep only report.html and report.pdf in the
# output folder. Code: analysis.report.prerender.
from analysis.report.prerender import main

raise SystemExit(main(["--post"]))
