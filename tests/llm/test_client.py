"""The HTTP client against our real server process running the embedded SmolLM2."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest

from musicflamingo.llm.base import LLMError, Usage
from musicflamingo.llm.embedded import SMOLLM2_GGUF
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.llm.server import free_port


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_first_call_waits_for_the_model_to_load(smol):
    assert smol.first_usage.retries > 0  # 503 "loading" was retried
    assert smol.first_usage.calls == 1
    assert smol.first.model == SMOLLM2_GGUF.removesuffix(".gguf")
    assert 0 < smol.first.completion_tokens <= 4


def test_token_accounting_adds_up(smol):
    client = OpenAIClient(smol.url, max_retries=20, backoff=0.2)
    short = client.complete(ask("Name a colour."), max_tokens=6)
    long = client.complete(ask("Name a colour. " * 20), max_tokens=6, seed=1)
    assert long.prompt_tokens > short.prompt_tokens + 60  # counted by the real tokenizer
    assert all(0 < c.completion_tokens <= 6 for c in (short, long))
    assert client.usage == Usage(
        calls=2,
        prompt_tokens=short.prompt_tokens + long.prompt_tokens,
        completion_tokens=short.completion_tokens + long.completion_tokens,
    )


def test_busy_server_answers_429_and_the_client_backs_off(smol):
    client = OpenAIClient(smol.url, max_retries=30, backoff=0.1, max_backoff=0.5)
    with ThreadPoolExecutor(3) as pool:
        replies = list(
            pool.map(lambda i: client.complete(ask(f"Count to {i}."), max_tokens=8), range(3))
        )
    assert len(replies) == 3 and all(r.text for r in replies)
    assert client.usage.calls == 3 and client.usage.retries > 0


def test_dead_server_gives_one_clear_line():
    url = f"http://127.0.0.1:{free_port()}"
    client = OpenAIClient(url, model="any", max_retries=2, backoff=0.01)
    with pytest.raises(LLMError) as err:
        client.complete(ask("hello"))
    message = str(err.value)
    assert "\n" not in message
    assert (
        message == f"LLM server at {url}/v1 is unreachable (connection refused) "
        "(gave up after 3 tries)"
    )
    assert client.usage.retries == 2 and client.usage.calls == 0


def test_timeout_is_reported(smol):
    client = OpenAIClient(smol.url, timeout=0.2, max_retries=0)
    with pytest.raises(LLMError, match=r"did not answer within 0\.2 s \(gave up after 1 tries\)"):
        client.complete(ask("Write a long story about a dragon."), max_tokens=20)


def test_bad_request_is_not_retried(smol):
    client = OpenAIClient(smol.url, max_retries=30, backoff=0.2)
    with pytest.raises(LLMError, match="HTTP 400: prompt of .* exceeds the 8192-token context"):
        client.complete(ask("word " * 9000), max_tokens=16)
    assert client.usage.calls == 0


def test_client_survives_pickling_for_worker_processes(smol):
    client = pickle.loads(pickle.dumps(OpenAIClient(smol.url, max_retries=20, backoff=0.2)))
    assert client.complete(ask("Hi"), max_tokens=2).completion_tokens <= 2
