"""Fixtures of the MF-Think tests: the fixtures' measured facts with their known
instruments, a small made-up song, our LLM server running the think rule writer and an
MF-Skills output built through it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from media import DEMO, FIXTURES
from thinkdata import SONGS, cli, make_facts, truth_instruments

from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.server import launch
from musicflamingo.think.corpus import Song


@pytest.fixture(scope="session")
def corpus_songs(fixture_facts, demo_facts) -> list[Song]:
    """Every rendered fixture and the demo song: measured facts, instruments from truth."""
    songs = [
        Song(name, facts, truth_instruments(FIXTURES / f"{name}.json"))
        for name, (_, facts) in sorted(fixture_facts.items())
    ]
    return [*songs, Song("demo", demo_facts, truth_instruments(DEMO.with_suffix(".json")))]


@pytest.fixture
def facts() -> SongFacts:
    return make_facts()


@pytest.fixture(scope="session")
def think_url():
    """Our OpenAI-compatible server process serving the noisy think rule writer (which also
    answers the MF-Skills prompts)."""
    with launch("musicflamingo.think.rulewriter:noisy", max_pending=8, wait_ready=True) as server:
        yield server.url


@pytest.fixture(scope="session")
def skills_out(tmp_path_factory, think_url) -> Path:
    """`musicflamingo skills build` of two short fixtures through the think server."""
    root = tmp_path_factory.mktemp("think")
    songs = root / "songs"
    songs.mkdir()
    for name in SONGS:
        shutil.copy(FIXTURES / f"{name}.ogg", songs / f"{name}.ogg")
    out = root / "skills"
    run = cli(
        "skills",
        "build",
        str(songs),
        str(out),
        "--llm-endpoint",
        think_url,
        "--lyrics-model",
        "none",
    )
    assert run.returncode == 0, run.stderr
    return out
