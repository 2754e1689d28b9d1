"""Subcommands of the ``kuntakokeilu`` command line, one module each (see analysis.cli)."""
