"""The HTTP client against a scripted OpenAI-compatible server on loopback: malformed
replies ("no choices", "no models"), retries, and which endpoints get the API key."""

from __future__ import annotations

import pytest
from scripted_llm import Script, reply, serve_app

from musicflamingo.llm.base import LLMError, Usage
from musicflamingo.llm.openai_client import OpenAIClient, env_api_key

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.mark.parametrize(
    "answer",
    [
        {"object": "chat.completion", "choices": []},
        {"object": "chat.completion"},
        {"choices": [{"index": 0}]},
        ["not", "an", "object"],
    ],
)
def test_a_reply_with_no_choices_is_one_clear_error(answer):
    script = Script([answer])
    with serve_app(script.app) as url:
        client = OpenAIClient(url, model="m", max_retries=3)
        with pytest.raises(LLMError) as err:
            client.complete(HI)
    assert str(err.value) == f"LLM server at {url}/v1 sent a reply with no choices"
    assert len(script.chats) == 1 and client.usage == Usage()


@pytest.mark.parametrize("models", [[], [{"object": "model"}], [{"id": ""}]])
def test_a_server_listing_no_models_is_one_clear_error(models):
    script = Script([reply("never sent")], models=models)
    with serve_app(script.app) as url, pytest.raises(LLMError) as err:
        OpenAIClient(url).complete(HI)
    assert str(err.value) == f"LLM server at {url}/v1 lists no models"
    assert script.chats == []


def test_the_first_listed_model_is_asked_for():
    script = Script([reply("hello")], models=[{"id": "first"}, {"id": "second"}])
    with serve_app(script.app) as url:
        c = OpenAIClient(url).complete(HI, max_tokens=5, seed=3)
    assert c.text == "hello"
    assert script.chats == [{"model": "first", "messages": HI, "max_tokens": 5, "temperature": 0.0,
                             "seed": 3}]  # fmt: skip


def test_server_errors_are_retried_and_counted_client_errors_are_not():
    script = Script([(503, {"error": {"message": "warming up"}}), (500, {}), reply("ok", 4, 2)])
    with serve_app(script.app) as url:
        client = OpenAIClient(url, model="m", backoff=0.01)
        assert client.complete(HI).text == "ok"
        assert client.usage == Usage(calls=1, prompt_tokens=4, completion_tokens=2, retries=2)
        script.answers = [(400, {"error": {"message": "bad\nthing"}}), reply("unused")]
        with pytest.raises(LLMError) as err:
            client.complete(HI)
    assert str(err.value) == f"LLM server at {url}/v1 answered HTTP 400: bad thing"
    assert len(script.chats) == 4 and script.answers == [reply("unused")]


def test_the_environment_key_goes_only_to_the_configured_endpoint(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    script = Script([reply("x"), reply("y")])
    with serve_app(script.app) as url:
        OpenAIClient(url, model="m").complete(HI)  # plain http, not configured: no key
        monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
        OpenAIClient(url, model="m").complete(HI)  # the endpoint the user configured
        monkeypatch.delenv("OPENAI_API_KEY")
        script.answers = [reply("z")]
        OpenAIClient(url, model="m", api_key="given").complete(HI)  # explicit: always sent
    sent = [r["headers"].get("authorization") for r in script.requests]
    assert sent == [None, "Bearer sk-secret", "Bearer given"]


@pytest.mark.parametrize(
    ("base_url", "configured", "sent"),
    [
        ("https://api.openai.com/v1", None, True),
        ("https://api.openai.com:443", None, True),
        ("http://api.openai.com/v1", None, False),
        ("https://api.openai.com.evil.example/v1", None, False),
        ("http://10.0.0.5:8000/v1", None, False),
        ("http://10.0.0.5:8000/v1", "http://10.0.0.5:8000/v1", True),
        ("http://10.0.0.5:8001/v1", "http://10.0.0.5:8000/v1", False),
        ("https://api.openai.com/v1", "http://10.0.0.5:8000/v1", False),
    ],
)
def test_env_api_key_rule(monkeypatch, base_url, configured, sent):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    if configured:
        monkeypatch.setenv("OPENAI_BASE_URL", configured)
    assert env_api_key(base_url) == ("sk-secret" if sent else None)
