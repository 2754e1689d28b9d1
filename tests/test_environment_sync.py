"""environment.yml (conda users) lists the same direct dependencies as pyproject.toml."""
import re
import tomllib

import yaml

from analysis.paths import ROOT

# conda-forge names that differ from PyPI names (PyPI name -> conda-forge name)
CONDA_NAMES: dict[str, str] = {}
# conda-only entries that are not Python packages of pyproject.toml
CONDA_ONLY = {"python", "pip", "quarto"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _pyproject_specs() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return dict(_split(s) for s in specs)


def _environment_specs() -> tuple[dict[str, str], dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for p in dep["pip"]:
                if not p.startswith("-e"):
                    name, spec = _split(p)
                    pip[name] = spec
        else:
            name, spec = _split(dep.split("=")[0] if dep.startswith("python=") else dep)
            conda[name] = spec
    return conda, pip


def test_same_direct_dependencies_and_specifiers():
    py = _pyproject_specs()
    conda, pip = _environment_specs()
    env = {k: v for k, v in conda.items() if k not in CONDA_ONLY}
    inverse = {v: k for k, v in CONDA_NAMES.items()}
    env = {inverse.get(k, k): v for k, v in env.items()}
    overlap = set(env) & set(pip)
    assert not overlap, f"listed both as conda and pip packages: {overlap}"
    env.update(pip)
    assert sorted(env) == sorted(py), (
        f"only in pyproject.toml: {sorted(set(py) - set(env))}; "
        f"only in environment.yml: {sorted(set(env) - set(py))}"
    )
    assert env == py, "version specifiers differ between pyproject.toml and environment.yml"


def test_environment_installs_the_project_and_quarto():
    conda, pip = _environment_specs()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-e ." in pip_section
    assert "quarto" in conda and "python" in conda


def test_lock_file_pins_every_direct_dependency():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"].lower() for p in lock["package"]}
    missing = set(_pyproject_specs()) - locked
    assert not missing, f"not pinned in uv.lock: {missing}; run `uv lock`"
