"""Packaging: the serving code imports only what the core dependencies declare, and runs
without the `train` extra (the Docker image leaves it out)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from more_cli.main import TRAIN_EXTRA

ROOT = Path(__file__).resolve().parents[2]
SERVING = ("app", "more_client", "more_cli", "migrations")
FIRST_PARTY = {"app", "training", "more_client", "more_cli", "migrations"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _imports(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_serving_imports_are_declared_core_dependencies() -> None:
    project = _project()
    core = {_name(r) for r in project["dependencies"]}
    engines = {_name(r) for r in project["optional-dependencies"]["cpu"]} | {"vllm"}
    dists = packages_distributions()
    undeclared = {}
    for module in set().union(*(_imports(ROOT / f) for f in SERVING)):
        if module in FIRST_PARTY or module in sys.stdlib_module_names or module == "__future__":
            continue
        provided = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not provided & (core | engines):
            undeclared[module] = sorted(provided)
    assert not undeclared, f"imported by the service but not a core dependency: {undeclared}"


def test_train_extra_holds_the_training_stack_and_only_make_installs_it() -> None:
    train = {_name(r) for r in _project()["optional-dependencies"]["train"]}
    assert train == TRAIN_EXTRA
    assert not train & {_name(r) for r in _project()["dependencies"]}
    assert ",train," in (ROOT / "Makefile").read_text()
    image_installs = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line
    ]
    assert image_installs and not any("train" in line for line in image_installs)


_WITHOUT_TRAIN_EXTRA = """
import sys
BLOCKED = {blocked!r}

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
import app.main
import more_cli.main as cli

app.main.create_app()

@cli.app.command("needs-trl")
def needs_trl() -> None:
    import trl  # noqa: F401

sys.argv = ["more", "needs-trl"]
cli.main()
"""


def test_serving_runs_without_the_train_extra_and_training_says_what_to_install() -> None:
    code = _WITHOUT_TRAIN_EXTRA.format(blocked=sorted(TRAIN_EXTRA))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 2, out.stderr
    assert "pip install 'more-dialogue[train]'" in out.stderr
    assert "Traceback" not in out.stderr
