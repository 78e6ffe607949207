"""pyproject.toml states compatible ranges; constraints.txt pins them (setup.sh and CI install
with it); environment.yml holds the same pins for conda users."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs.extend(extra)
    return {re.split(r"[=<>!~ ]", r, 1)[0].lower().replace("_", "-"): r.replace(" ", "") for r in reqs}


def _environment_requirements():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_lines, in_pip = [], False
    for line in lines:
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
            continue
        if in_pip:
            match = re.match(r"^\s{6,}- (\S+)\s*$", line)
            if match:
                pip_lines.append(match.group(1))
            elif line.strip():
                in_pip = False
    return {re.split(r"[=<>!~]", r, 1)[0].lower().replace("_", "-"): r for r in pip_lines}


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_pyproject_states_ranges_and_constraints_pin_every_requirement():
    pins = _constraints()
    for name, requirement in _pyproject_requirements().items():
        req = Requirement(requirement)
        assert "==" not in requirement, f"{requirement}: pyproject.toml states ranges; pins go in constraints.txt"
        assert req.specifier, f"{requirement}: give a compatible range (a tested lower bound)"
        pinned = pins.get(canonicalize_name(name))
        assert pinned, f"{name} is not pinned in constraints.txt (run scripts/lock_constraints.py)"
        assert req.specifier.contains(pinned, prereleases=True), f"constraints.txt {name}=={pinned} is outside {requirement}"


def test_environment_yml_pins_the_constraints_versions():
    pyproject, environment, pins = _pyproject_requirements(), _environment_requirements(), _constraints()
    assert pyproject, "no requirements parsed from pyproject.toml"
    assert set(pyproject) == set(environment), (
        f"only in pyproject: {sorted(set(pyproject) - set(environment))}; "
        f"only in environment.yml: {sorted(set(environment) - set(pyproject))}")
    for name, requirement in environment.items():
        assert requirement == f"{Requirement(requirement).name}=={pins[canonicalize_name(name)]}", (
            f"environment.yml {requirement} vs constraints.txt {pins[canonicalize_name(name)]}")


def test_setup_installs_with_the_constraints():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r"pip install[^\n]* -c constraints\.txt", setup)
    assert "constraints.txt" in re.search(r"stamp_inputs=\(([^)]*)\)", setup).group(1)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = "bash scripts/setup.sh && .venv/bin/python -m pytest"
    opening = "\n".join(readme.splitlines()[:25])
    assert test_command in opening, "the README must open with the test command"
    assert "bash scripts/setup.sh && .venv/bin/python -m albert_nb.walkthrough" in opening
    assert test_command in ci
