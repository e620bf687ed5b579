"""What every route of the server shares: limits, the API key and the (lazily loaded) model."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from musicflamingo.llm.server import Limits

if TYPE_CHECKING:
    from musicflamingo.facts.extract import FactsConfig
    from musicflamingo.model.runtime import MusicFlamingo


@dataclass
class ServeContext:
    """State shared by the chat routes (`serve.app`) and the page + facts routes (`serve.web`).

    ``model_id`` is None when the server runs facts only (``serve`` without ``--model``);
    ``model`` stays None until the weights have loaded, and ``ready`` says so.
    """

    limits: Limits = field(default_factory=Limits)
    api_key: str | None = None
    model_id: str | None = None
    work_dir: Path | None = None
    model: MusicFlamingo | None = None
    load_error: str | None = None
    loaded: threading.Event = field(default_factory=threading.Event)
    facts_config: FactsConfig | None = None  # how the page's songs are measured (None: defaults)
    max_jobs: int = 8  # songs being uploaded, queued or measured at once (then 429)

    @property
    def ready(self) -> bool:
        """True once the server can answer: facts-only at once, with a model after loading."""
        return self.model_id is None or (self.loaded.is_set() and self.model is not None)
