"""Write constraints.txt: the exact versions, in this environment, of everything albert-nb needs.

    .venv/bin/python scripts/lock_constraints.py        # after changing pyproject.toml's ranges

pyproject.toml states compatible ranges; constraints.txt pins the whole dependency closure
(direct and transitive, every extra) to what is installed here, so `scripts/setup.sh` and CI
install the same versions every time (`pip install -c constraints.txt ...`). Local version
labels (`torch==2.13.0+cpu`) are dropped so the pins resolve against the package index.
"""
from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Exact versions for scripts/setup.sh and CI: `pip install -c constraints.txt -e ".[...]"`.
# pyproject.toml holds the compatible ranges; regenerate this file with
# `.venv/bin/python scripts/lock_constraints.py` after changing them (and installing).
"""


def closure(requirements: list[str]) -> dict[str, str]:
    """{canonical name: installed version} of `requirements` and everything they pull in."""
    pending = [(Requirement(r), None) for r in requirements]
    found: dict[str, str] = {}
    while pending:
        req, extra = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra or ""}):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"lock_constraints: {req.name} is required but not installed here")
        if name not in found:
            found[name] = re.sub(r"\+.*$", "", dist.version)
            pending.extend((Requirement(r), None) for r in dist.requires or []
                           if "extra ==" not in r)
        for wanted in req.extras:   # the dependencies an extra of this package adds
            pending.extend((Requirement(r), wanted) for r in dist.requires or []
                           if "extra ==" in r)
    return found


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    pins = closure(requirements)
    text = HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
    (ROOT / "constraints.txt").write_text(text)
    print(f"constraints.txt: {len(pins)} pins")


if __name__ == "__main__":
    main()
