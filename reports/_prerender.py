# Quarto pre-render script (reports/_quarto.yml): generate _generated/ and _variables.yml from
# the run folders (reports/_build/runs, or $KUNTAKOKEILU_RUNS_DIR). Code: analysis.report.prerender.
from analysis.report.prerender import main

raise SystemExit(main([]))
