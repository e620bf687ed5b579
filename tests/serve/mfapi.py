"""What the API tests share: the tiny checkpoint, short real clips as request parts, and
`musicflamingo serve` as a real child process on loopback."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from media import FIXTURES, encode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from make_tiny_checkpoint import build_checkpoint, make_tokenizer  # noqa: E402

SONG = FIXTURES / "song03_waltz_g.ogg"  # 51 s
OTHER = FIXTURES / "song05_march_bb.ogg"
PART_SECONDS = 30.0  # the test server hears songs longer than this in parts
SERVER_ARGS = ("--max-batch", "8", "--part-seconds", str(PART_SECONDS), "--max-body-mb", "4")
SERVER_ARGS += ("--max-audio-seconds", "120", "--max-tokens", "4096")


_BUILT: dict[str, Path] = {}


def tiny_checkpoint(factory: Any) -> Path:
    """The tiny random Music Flamingo checkpoint, built once per test session (the API test
    modules share it); ``factory`` is pytest's ``tmp_path_factory``."""
    if "mf" not in _BUILT:
        out = factory.mktemp("ckpt") / "tiny-mf"
        _BUILT["mf"] = build_checkpoint(
            out, "musicflamingo", "tiny", tokenizer=make_tokenizer(4096)
        )
    return _BUILT["mf"]


def clip(folder: Path, source: Path, seconds: float, codec: str = "pcm_s16le",
         suffix: str = "wav", start: float = 0.0) -> Path:  # fmt: skip
    """The first ``seconds`` (from ``start``) of ``source`` encoded with ``codec``."""
    info = sf.info(source)
    samples, sr = sf.read(
        source, start=int(start * info.samplerate), frames=int(seconds * info.samplerate),
        dtype="float32", always_2d=True,
    )  # fmt: skip
    out = folder / f"{source.stem}-{start:g}-{seconds:g}.{suffix}"
    return encode(out, np.ascontiguousarray(samples.T), sr, codec)


def audio_part(path: Path, fmt: str | None = None) -> dict[str, Any]:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": fmt or path.suffix[1:]}}


def user(text: str, path: Path | None = None) -> list[dict[str, Any]]:
    """One user message: the text, then the audio (as our eval runner sends them)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if path is not None:
        content.append(audio_part(path))
    return [{"role": "user", "content": content}]
