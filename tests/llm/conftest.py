"""One real server process with the embedded SmolLM2 for the whole session."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.llm.server import launch


@pytest.fixture(scope="session")
def smol():
    """The server on a free port, one request at a time (more get 429). The first request
    is sent as soon as it listens, while the model is still loading (503 + Retry-After)."""
    with launch("embedded", max_pending=1) as server:
        client = OpenAIClient(server.url, max_retries=300, backoff=0.25, max_backoff=1.0)
        first = client.complete([{"role": "user", "content": "Say hi."}], max_tokens=4)
        yield SimpleNamespace(url=server.url, first=first, first_usage=client.usage)
