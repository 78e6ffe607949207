"""environment.yml and pyproject.toml must describe the same environment."""
import re
import tomllib
from pathlib import Path

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


def test_environment_yml_matches_pyproject():
    pyproject, environment = _pyproject_requirements(), _environment_requirements()
    assert pyproject, "no requirements parsed from pyproject.toml"
    assert set(pyproject) == set(environment), (
        f"only in pyproject: {sorted(set(pyproject) - set(environment))}; "
        f"only in environment.yml: {sorted(set(environment) - set(pyproject))}")
    for name, requirement in pyproject.items():
        assert environment[name] == requirement, f"{name}: pyproject {requirement} vs environment.yml {environment[name]}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = "bash scripts/setup.sh && .venv/bin/python -m pytest"
    opening = "\n".join(readme.splitlines()[:25])
    assert test_command in opening, "the README must open with the test command"
    assert "bash scripts/setup.sh && .venv/bin/python -m albert_nb.walkthrough" in opening
    assert test_command in ci
