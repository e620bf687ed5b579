"""Music Flamingo runtime on transformers' own classes: load a checkpoint, ask it about songs
(batched, long songs heard in parts), parse what it says and check it against measured facts.

The runtime needs the ``model`` extra (torch, transformers); names are imported on first
use, so ``musicflamingo.model.parsing`` and ``musicflamingo.model.prompts`` load without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "analyze": "api",
    "ask": "api",
    "fact_check": "grounding",
    "grounded_context": "grounding",
    "ModelError": "loading",
    "Choice": "parsing",
    "KeyFacts": "parsing",
    "ParsedKeyFacts": "parsing",
    "Thought": "parsing",
    "parse_choice": "parsing",
    "parse_key_facts": "parsing",
    "parse_thinking": "parsing",
    "Answer": "report",
    "CheckItem": "report",
    "FactCheck": "report",
    "ListenReport": "report",
    "PartAnswer": "report",
    "render_markdown": "report",
    "MusicFlamingo": "runtime",
    "Request": "runtime",
}
__all__ = [
    "Answer",
    "CheckItem",
    "Choice",
    "FactCheck",
    "KeyFacts",
    "ListenReport",
    "ModelError",
    "MusicFlamingo",
    "ParsedKeyFacts",
    "PartAnswer",
    "Request",
    "Thought",
    "analyze",
    "ask",
    "fact_check",
    "grounded_context",
    "parse_choice",
    "parse_key_facts",
    "parse_thinking",
    "render_markdown",
]

if TYPE_CHECKING:
    from .api import analyze, ask
    from .grounding import fact_check, grounded_context
    from .loading import ModelError
    from .parsing import (
        Choice,
        KeyFacts,
        ParsedKeyFacts,
        Thought,
        parse_choice,
        parse_key_facts,
        parse_thinking,
    )
    from .report import Answer, CheckItem, FactCheck, ListenReport, PartAnswer, render_markdown
    from .runtime import MusicFlamingo, Request


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
