"""Real HTTP servers on loopback for the LLM tests: `serve_app` runs any ASGI app under
uvicorn in a thread; `Script` is a tiny OpenAI-compatible app that answers from a list
(first wrongly, then rightly, or malformed) and records every request it got."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def reply(text: str, prompt_tokens: int = 7, completion_tokens: int = 3) -> dict[str, Any]:
    """A well-formed chat completion carrying ``text``."""
    return {
        "object": "chat.completion",
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


class Script:
    """Answers each chat request with the next entry: a body (HTTP 200) or (status, body);
    when the script is used up, HTTP 418. ``models`` is what ``/v1/models`` lists."""

    def __init__(self, answers: list[Any], models: list[dict] | None = None) -> None:
        self.answers = list(answers)
        self.models = [{"id": "scripted"}] if models is None else models
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "body"}
        self.app = FastAPI()
        self.app.get("/v1/models")(self._models)
        self.app.post("/v1/chat/completions")(self._chat)

    async def _models(self, request: Request):
        self.requests.append({"path": "/v1/models", "headers": dict(request.headers)})
        return {"object": "list", "data": self.models}

    async def _chat(self, request: Request):
        body = await request.json()
        self.requests.append({"path": "/v1/chat", "headers": dict(request.headers), "body": body})
        if not self.answers:
            return JSONResponse({"error": {"message": "script used up"}}, status_code=418)
        answer = self.answers.pop(0)
        status, content = answer if isinstance(answer, tuple) else (200, answer)
        return JSONResponse(content, status_code=status)

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The bodies of the chat requests, in order."""
        return [r["body"] for r in self.requests if r["path"] == "/v1/chat"]
