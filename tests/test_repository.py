"""Repository conventions a user relies on: the two commands, CI, notebooks."""
from analysis.paths import ROOT


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    head = text[: text.index("\n## ")]
    assert "make report" in head and "make test" in head
    assert head.index("make report") < head.index("make test")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("setup:", "report:", "test:", "lab:", "data:"):
        assert f"\n{target}" in makefile, target
    assert "--compile-bytecode" in makefile
    assert "report: runs" in makefile and "test: setup" in makefile
