"""Shared fixtures: the question-file excerpts in ``tests/data/bench`` (see its README)."""

from pathlib import Path

import pytest

from musicflamingo.bench.loaders import LoadedBenchmark
from musicflamingo.bench.recipes.mmar import load_mmar
from musicflamingo.bench.recipes.mmau import load_mmau
from musicflamingo.bench.recipes.muchomusic import load_muchomusic
from musicflamingo.bench.recipes.music_avqa import load_music_avqa
from musicflamingo.bench.recipes.nsynth import load_nsynth

BENCH_DIR = Path(__file__).resolve().parents[1] / "data" / "bench"


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    return BENCH_DIR


@pytest.fixture(scope="session")
def mmau(bench_dir: Path) -> LoadedBenchmark:
    return load_mmau(bench_dir / "mmau-test-mini.json")


@pytest.fixture(scope="session")
def mmar(bench_dir: Path) -> LoadedBenchmark:
    return load_mmar(bench_dir / "MMAR-meta.jsonl")


@pytest.fixture(scope="session")
def muchomusic(bench_dir: Path) -> LoadedBenchmark:
    return load_muchomusic(bench_dir / "muchomusic-questions.jsonl")


@pytest.fixture(scope="session")
def avqa(bench_dir: Path) -> LoadedBenchmark:
    return load_music_avqa(bench_dir / "avqa-test.json")


@pytest.fixture(scope="session")
def nsynth(bench_dir: Path) -> LoadedBenchmark:
    return load_nsynth(bench_dir / "nsynth-test-labels.jsonl")
