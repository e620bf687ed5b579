"""`OpenAIClient`: any OpenAI-compatible ``/v1/chat/completions`` server over HTTP (httpx).

Retries 429, 5xx, dropped connections and timeouts with exponential backoff (honouring
``Retry-After``), limits requests in flight with a semaphore, and adds up token usage. When
the server cannot be had, the `LLMError` it raises says so in one line.

The API key is the one given; ``OPENAI_API_KEY`` from the environment is sent only to the
endpoint the user configured for it: ``OPENAI_BASE_URL``, else ``https://api.openai.com``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import httpx

from musicflamingo.llm.base import ChatRequest, Completion, LLMError, TextLLM, Usage

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
OPENAI_URL = "https://api.openai.com/v1"


def api_root(base_url: str) -> str:
    """``http://host:port`` or ``.../v1`` -> ``.../v1``."""
    url = base_url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return u.scheme, u.host, u.port or {"http": 80, "https": 443}.get(u.scheme)


def env_api_key(base_url: str) -> str | None:
    """``OPENAI_API_KEY`` when ``base_url`` is on the endpoint configured for it
    (``OPENAI_BASE_URL``, else api.openai.com over https), otherwise None."""
    key = os.environ.get("OPENAI_API_KEY")
    configured = os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
    return key if key and _origin(base_url) == _origin(configured) else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message") or err.get("detail") if isinstance(err, dict) else err
    except ValueError:
        msg = response.text
    return " ".join(str(msg or response.reason_phrase).split())[:300]


class OpenAIClient(TextLLM):
    """Chat completions from an OpenAI-compatible server (vLLM, llama.cpp, OpenAI, ours)."""

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_concurrency: int = 8,
    ) -> None:
        self.base_url = api_root(base_url)
        self._model = model
        self.api_key = env_api_key(self.base_url) if api_key is None else api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_concurrency = max_concurrency
        self.usage = Usage()
        self._setup()

    def _setup(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._http = httpx.Client(timeout=self.timeout, headers=headers)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()

    def _count(self, more: Usage) -> None:
        with self._lock:
            self.usage += more

    def __getstate__(self) -> dict[str, Any]:  # picklable for worker processes
        state = dict(self.__dict__)
        del state["_http"], state["_slots"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    @property
    def model_id(self) -> str:
        if self._model is None:
            listing = self._request("GET", "/models")
            models = listing.get("data") if isinstance(listing, dict) else None
            ids = [m["id"] for m in models or [] if isinstance(m, dict) and m.get("id")]
            if not ids:
                raise LLMError(f"LLM server at {self.base_url} lists no models")
            self._model = str(ids[0])
        return self._model

    def respond(self, request: ChatRequest) -> Completion:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": request.json_schema}
        data = self._request("POST", "/chat/completions", body)
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"LLM server at {self.base_url} sent a reply with no choices") from None
        usage = data.get("usage") or {}
        c = Completion(
            text=text,
            model=str(data.get("model") or self.model_id),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
        self._count(Usage.of(c))
        return c

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        tries = self.max_retries + 1
        for attempt in range(tries):
            wait = min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(1.0, 1.25)
            try:
                with self._slots:
                    response = self._http.request(method, url, json=body)
            except httpx.TimeoutException:
                why = f"did not answer within {self.timeout:g} s"
            except httpx.TransportError as e:
                why = f"is unreachable ({_transport_reason(e)})"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise LLMError(f"LLM server at {self.base_url} sent no JSON") from None
                why = f"answered HTTP {response.status_code}: {_detail(response)}"
                if response.status_code not in RETRY_STATUS:
                    raise LLMError(f"LLM server at {self.base_url} {why}")
                after = response.headers.get("retry-after", "")
                if after.replace(".", "", 1).isdigit():
                    wait = min(self.max_backoff, max(wait, float(after)))
            if attempt + 1 < tries:
                self._count(Usage(retries=1))
                time.sleep(wait)
        raise LLMError(f"LLM server at {self.base_url} {why} (gave up after {tries} tries)")


def _transport_reason(e: httpx.TransportError) -> str:
    text = str(e).strip() or type(e).__name__
    for known in ("Connection refused", "Name or service not known", "Connection reset"):
        if known.lower() in text.lower():
            return known.lower()
    return " ".join(text.split())[:120]
