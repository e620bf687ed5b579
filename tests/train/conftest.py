"""A tiny random Music Flamingo checkpoint, distinguishable sine-tone clips and rows in the
Audio Flamingo conversation layout, all made by the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from make_tiny_checkpoint import build_checkpoint  # noqa: E402

SR = 16_000


def tone(path: Path, seconds: float, freq: float) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", "musicflamingo", "tiny")


@pytest.fixture(scope="session")
def processor(checkpoint: Path):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(checkpoint)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight 2 s tones an octave-spread apart (a random encoder tells them apart)."""
    root = tmp_path_factory.mktemp("clips")
    return [tone(root / f"tone{i}.wav", 2.0, 110.0 * 2 ** (i / 2)) for i in range(8)]


def qa_row(i: int, path: Path, answer: str, duration: float = 2.0) -> dict:
    return {
        "id": f"song{i}/qa00",
        "sound": str(path),
        "duration": duration,
        "conversations": [
            {"from": "human", "value": "<sound>\nWhich tone is this?"},
            {"from": "gpt", "value": answer},
        ],
        "meta": {"song_id": f"song{i}", "task": "qa"},
    }
