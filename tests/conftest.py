"""Shared test fixtures: the rendered fixtures and the demo song, each analysed once a session."""

from __future__ import annotations

import sys
import warnings
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


# Slow tests: seconds to minutes each on 2 cores (measured with `pytest --durations`).
# `pytest -q` runs everything (CI does); `pytest -q -m "not slow"` leaves these out.
SLOW_FIXTURES = {
    "fixture_facts",  # every rendered fixture analysed
    "demo_facts",  # the demo song analysed with lyrics
    "smol",  # the embedded SmolLM2 behind our server
    "checkpoint",  # bench end to end: runs on a tiny checkpoint
    "direct",
    "built",  # skills: a whole build against a scripted LLM
    "real_songs",  # model: batches of real songs through the tiny checkpoints
    "long_song",
}
SLOW_NODES = (
    "tests/test_cli.py",  # each test runs `musicflamingo analyze` on real songs
    "tests/model/test_mf_cli.py",
    "tests/model/test_mf_skills_stage1.py",
    "tests/model/test_mf_parity.py",
    "tests/model/test_mf_batching.py::test_af3_batched_equal_alone",
    "tests/model/test_mf_batching.py::test_same_song_many_questions_share_audio",
    "tests/model/test_mf_batching.py::test_max_new_tokens_per_request",
    "tests/model/test_mf_long.py::test_lyrics_of_parts_are_joined",
    "tests/model/test_mf_long.py::test_part_seconds_for_smaller_accelerators",
    "tests/model/test_mf_report.py::test_analyze_and_ask_from_paths",
    "tests/model/test_mf_loading.py::test_bf16_on_cpu_runs_and_casts_features",
    "tests/skills/test_ray.py",
    "tests/skills/test_build.py",
    "tests/bench/test_mmau_pro.py",  # sentence-embedding model
    "tests/llm/test_embedders.py::test_the_default_embedder_matches_the_nearest_choice",
    "tests/llm/test_serve_process.py",  # starts `musicflamingo serve-llm` processes
    "tests/serve/test_api_chat.py",  # `musicflamingo serve` processes with the tiny model
    "tests/serve/test_api_limits.py",
    "tests/serve/test_api_e2e.py",
    "tests/serve/test_web_api.py",  # songs analysed by the page's worker process
    "tests/serve/test_web_browser.py",  # Chromium against `musicflamingo serve` + tiny model
    "tests/bench/test_classification.py::test_nsynth_real_labels",
    "tests/test_audio.py::test_six_hour_file_is_refused_before_decoding",
)


def _slow_nodes(nodeid: str) -> set[str]:
    base = nodeid.split("[")[0]
    return {n for n in SLOW_NODES if base == n or base.startswith(n + "::")}


def pytest_collection_modifyitems(config, items):
    files = {item.nodeid.split("::")[0] for item in items}
    unmatched = {node for node in SLOW_NODES if node.split("::")[0] in files}
    for item in items:
        nodes = _slow_nodes(item.nodeid)
        unmatched -= nodes
        if nodes or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
    for node in sorted(unmatched):
        warnings.warn(f"SLOW_NODES in tests/conftest.py names no test: {node}", stacklevel=1)
