"""The tiny Music Flamingo served as an OpenAI-compatible chat endpoint (our own
``musicflamingo.llm.server`` app under uvicorn, in a thread), for endpoint, judge and
extractor runs against a real HTTP server."""

from __future__ import annotations

import base64
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scripted_llm import serve_app

from musicflamingo.llm.base import Completion
from musicflamingo.llm.server import create_app
from musicflamingo.model import MusicFlamingo, Request


class TinyChat:
    """A `TextLLM` answering with the runtime's ``ask`` request: the message text as the
    question, the ``input_audio`` part as the song (one second of silence without one)."""

    model_id = "tiny-music-flamingo"

    def __init__(self, mf: MusicFlamingo) -> None:
        self.mf = mf
        self.lock = threading.Lock()

    def complete(self, messages: list[dict[str, Any]], *, max_tokens: int = 1024,
                 **_: Any) -> Completion:  # fmt: skip
        content = messages[-1]["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        text = "\n".join(p["text"] for p in parts if p["type"] == "text")
        sound = next((p["input_audio"] for p in parts if p["type"] == "input_audio"), None)
        with tempfile.TemporaryDirectory() as tmp:
            if sound is None:
                path = Path(tmp) / "silence.wav"
                sf.write(path, np.zeros(16000, np.float32), 16000)
            else:
                path = Path(tmp) / f"input.{sound['format']}"
                path.write_bytes(base64.b64decode(sound["data"]))
            request = Request(path, "ask", question=text, max_new_tokens=max_tokens)
            with self.lock:
                answer = self.mf.generate([request], progress=False)[0]
        return Completion(answer.text, self.model_id, 0, answer.new_tokens)


@contextmanager
def serve(llm: TinyChat) -> Iterator[str]:
    """Serve `llm` on a free loopback port; yields the base URL."""
    with serve_app(create_app(llm)) as url:
        yield url + "/v1"
