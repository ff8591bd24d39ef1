"""The house rules that keep the code small and layered, checked on the source itself:
import-linter's contracts (pyproject.toml), file and function sizes, and scikit-learn's public API only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SOURCES = sorted([*REPO.joinpath("stancelab").rglob("*.py"), *REPO.joinpath("features").rglob("*.py"),
                  *(REPO / name for name in ("train.py", "evaluate.py", "predict.py"))])


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_stages_import_downwards_only_and_without_cycles():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout


def test_no_file_over_500_lines_and_no_function_over_80():
    long_files = [f"{p.relative_to(REPO)}: {n}" for p in SOURCES
                  if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500]
    long_functions = [f"{p.relative_to(REPO)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1}"
                      for p in SOURCES for node in ast.walk(_tree(p))
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.end_lineno - node.lineno + 1 > 80]
    assert not long_files and not long_functions, long_files + long_functions


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_only_public_scikit_learn_names_are_used():
    """No private module, function or attribute of scikit-learn is imported, and no attribute with a
    leading underscore is read off anything but our own ``self``/``cls`` (scikit-learn's private
    attributes such as ``vec._tfidf`` change without notice)."""
    found = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
                if any(_private(part) for part in node.module.split(".")) or any(_private(a.name) for a in node.names):
                    found.append(f"{path.name}:{node.lineno} from {node.module} import ...")
            elif isinstance(node, ast.Import):
                found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.startswith("sklearn") and any(_private(p) for p in a.name.split("."))]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not found, found


def test_nothing_heavy_is_imported_when_the_package_is():
    """Importing the package and the CLIs' modules starts no MLflow, scikit-learn or plotting."""
    code = ("import sys, train, evaluate, predict, stancelab, features.normalize; "
            "print(sorted(m for m in ('mlflow', 'matplotlib', 'skops', 'sklearn.linear_model') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command_verbatim():
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    train, test = re.findall(r"```bash\n(.+?)\n```", section, re.S)[:2]
    assert train.endswith("python train.py") and "pip install -e ." in train
    assert test in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
