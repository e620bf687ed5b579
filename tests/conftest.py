"""Shared test fixtures: the rendered fixtures and the demo song, each analysed once a session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from media import DEMO, FIXTURES, fixture_names  # noqa: E402  (needs the path above)


@pytest.fixture(scope="session")
def fixture_facts():
    """name -> (Truth, SongFacts) for every rendered fixture, lyrics off (~1.5 min)."""
    from musicflamingo.facts.extract import FactsConfig, analyze
    from musicflamingo.facts.scoring import Truth

    config = FactsConfig(lyrics_model=None)
    return {
        name: (Truth.load(FIXTURES / f"{name}.json"), analyze(FIXTURES / f"{name}.ogg", config))
        for name in fixture_names()
    }


@pytest.fixture(scope="session")
def demo_facts():
    """The bundled demo song analysed with the default config (lyrics on)."""
    from musicflamingo.facts.extract import analyze

    return analyze(DEMO)
