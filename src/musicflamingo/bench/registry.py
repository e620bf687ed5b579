"""The benchmarks the harness runs, discovered from `musicflamingo.bench.recipes` (every
module there defines ``RECIPES``).

Every benchmark lives in its own folder under the data root (``DATA/<folder>``) holding
its question file and audio as the public release lays them out; `describe` lists them.
Audio is never bundled and missing audio is reported, not fatal. `PROMPT_VERSION`
changes whenever a rendering does, and is recorded with every run.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from . import recipes
from .recipe import Recipe

PROMPT_VERSION = "bench-prompts-v1"


def _discover() -> dict[str, Recipe]:
    found: dict[str, Recipe] = {}
    for module in pkgutil.iter_modules(recipes.__path__):
        for recipe in importlib.import_module(f"{recipes.__name__}.{module.name}").RECIPES:
            if recipe.name in found:
                raise ValueError(f"benchmark {recipe.name!r} is defined twice")
            found[recipe.name] = recipe
    return found


REGISTRY: dict[str, Recipe] = _discover()


def get(name: str) -> Recipe:
    """The recipe named `name` (ValueError listing the names otherwise)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; use one of {', '.join(REGISTRY)}") from None


def select(names: Sequence[str]) -> list[Recipe]:
    """The recipes for `names` in order, once each; "all" stands for every benchmark."""
    expanded = [n for name in names for n in (REGISTRY if name == "all" else [name])]
    return [get(name) for name in dict.fromkeys(expanded)]


def describe() -> str:
    """A Markdown table of the benchmarks: name, metric, data folder and availability."""
    rows = [
        "| benchmark | what | metric | DATA/<folder>: files | data |",
        "|---|---|---|---|---|",
    ]
    for e in REGISTRY.values():
        files = ", ".join(e.files) or "audio files"
        notes = f"{e.availability}; {e.source}" + (f"; {e.note}" if e.note else "")
        rows.append(f"| {e.name} | {e.title} | {e.metric} | {e.folder}/: {files} | {notes} |")
    return "\n".join(rows)
