"""Greedy decoding of many prompts at once, each exactly as it would run alone.

How a batch runs:
  1. per song part, the prompt up to the end of its audio block is prefilled once
     (encoder + projector through transformers' ``get_audio_features``, the embeddings put
     in the ``<sound>`` slots as the model's own forward does) and its key/value cache is
     shared by every question about that audio;
  2. each prompt's own text after the audio, all but its last token, is prefilled on top
     of a copy of that cache, alone: no padding, so no quadratic attention mask;
  3. the caches are left-padded into one static cache, and one ``generate`` call decodes
     the batch from each prompt's last token, writing new keys in place.
A prompt's cache is computed the same way whatever else is in its batch, so its greedy
output does not depend on the company it keeps. Batches hold whole songs, songs of similar
length together, longest first.

A prompt may sample instead (`Sampling`: its own seeded generator, so a seeded draw does not
depend on the batch either) and may carry a `Listener` that sees its new tokens as they come
and can end its row early (the server streams, applies stop strings and cancels with it).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import (
    DynamicCache,
    LogitsProcessor,
    LogitsProcessorList,
    StaticCache,
    StoppingCriteria,
    StoppingCriteriaList,
    TopPLogitsWarper,
)

from musicflamingo import audio

from .frontend import FrontEnd
from .loading import Loaded, oom_error, quiet
from .segments import Span

PrefixKey = tuple[int, float, float, int]


@dataclass(frozen=True)
class Sampling:
    """How a prompt picks its tokens: greedy at temperature 0, else drawn from the ``top_p``
    share of its tempered distribution by its own generator (seeded by ``seed`` when given)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


class Listener:
    """Follows one request while it decodes: `prompt` gets each of its model calls' prompt
    length, `tokens` the new token ids so far of its answering call, and its rows end once
    `stopped` is True. The base class listens to nothing."""

    def prompt(self, tokens: int) -> None:
        """Called once per model call of the request, before decoding."""

    def tokens(self, ids: list[int]) -> None:
        """Called after each decoding step with all new ids so far (no end-of-turn token)."""

    def stopped(self) -> bool:
        """True to end the request's rows now (cancelled, or a stop string was seen)."""
        return False


@dataclass
class Job:
    """One model call: a rendered prompt and the audio span it hears (None: text only);
    ``streams``: its new tokens go to the listener (the call that writes the answer)."""

    text: str
    max_new_tokens: int
    source: int | None = None
    span: Span | None = None
    sampling: Sampling | None = None
    listener: Listener | None = None
    streams: bool = False
    ids: list[int] = field(default_factory=list)
    prefix: int = 0  # number of leading ids shared with other prompts on the same audio
    prefix_key: PrefixKey | None = None


@dataclass(frozen=True)
class Output:
    text: str
    new_tokens: int
    finished: bool


class Decoder:
    """Runs jobs in batches of at most ``batch_size`` prompts and ``max_batch_tokens`` cache
    slots (prompts x (padded length + new tokens)); on CUDA the default token budget is half
    the free memory after loading. A batch that runs out of memory is split and retried."""

    def __init__(
        self,
        loaded: Loaded,
        frontend: FrontEnd,
        batch_size: int | None = None,
        max_batch_tokens: int | None = None,
    ):
        self.loaded, self.frontend = loaded, frontend
        self.model = loaded.model
        text = self.model.config.get_text_config()
        self.kv_heads = text.num_key_value_heads
        heads = text.num_attention_heads
        self.head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        on_gpu = loaded.device.type == "cuda"
        self.batch_size = batch_size or (32 if on_gpu else 8)
        self.max_batch_tokens = max_batch_tokens or self._default_budget()
        self._prefixes: dict[PrefixKey, DynamicCache] = {}
        self._pending: Counter[PrefixKey] = Counter()

    def kv_bytes_per_token(self) -> int:
        """Key/value cache bytes per token, all layers, in the model's dtype."""
        text = self.model.config.get_text_config()
        item = torch.finfo(self.loaded.dtype).bits // 8
        return text.num_hidden_layers * 2 * self.kv_heads * self.head_dim * item

    def _default_budget(self) -> int:
        if self.loaded.device.type != "cuda":
            return 64_000
        free, _ = torch.cuda.mem_get_info(self.loaded.device)
        return max(16_000, int(0.5 * free / self.kv_bytes_per_token()))

    # --- planning -----------------------------------------------------------------------------

    def run(
        self, jobs: list[Job], songs: list[np.ndarray], advance: Callable[[int], None]
    ) -> dict[int, Output]:
        """Outputs of ``jobs`` keyed by ``id(job)``; ``advance(n)`` after each batch."""
        self._prefixes.clear()
        self._pending.clear()
        for job in jobs:
            self._prepare(job, songs)
            if job.listener is not None:
                job.listener.prompt(len(job.ids))
        out: dict[int, Output] = {}
        for batch in self._batches(jobs):
            for job, result in zip(batch, self._decode_safely(batch, songs), strict=True):
                out[id(job)] = result
                if job.prefix_key is not None:
                    self._pending[job.prefix_key] -= 1
                    if not self._pending[job.prefix_key]:
                        self._prefixes.pop(job.prefix_key, None)
            advance(len(batch))
        return out

    def _prepare(self, job: Job, songs: list[np.ndarray]) -> None:
        if job.source is None or job.span is None:
            job.ids = self.frontend.token_ids(job.text, None)
            return
        n = audio.audio_token_count(
            len(self._samples(job, songs)), self.frontend.sr, self.frontend.max_windows
        )
        job.ids = self.frontend.token_ids(job.text, n)
        job.prefix = min(self.frontend.audio_end(job.ids), len(job.ids) - 1)
        shared = hash(tuple(job.ids[: job.prefix]))
        job.prefix_key = (job.source, job.span.start, job.span.end, shared)
        self._pending[job.prefix_key] += 1

    def _batches(self, jobs: list[Job]) -> Iterator[list[Job]]:
        longest: dict[object, int] = {}
        for job in jobs:
            key = job.prefix_key or id(job)
            longest[key] = max(longest.get(key, 0), len(job.ids))

        def order(job: Job) -> tuple[int, str, int]:
            key = job.prefix_key or id(job)
            return -longest[key], str(key), -len(job.ids)

        batch: list[Job] = []
        for job in sorted(jobs, key=order):
            grown = [*batch, job]
            slots = len(grown) * (
                max(len(j.ids) for j in grown) + max(j.max_new_tokens for j in grown)
            )
            if batch and (len(grown) > self.batch_size or slots > self.max_batch_tokens):
                yield batch
                grown = [job]
            batch = grown
        if batch:
            yield batch

    # --- running ------------------------------------------------------------------------------

    def _decode_safely(self, batch: list[Job], songs: list[np.ndarray]) -> list[Output]:
        try:
            return self._decode(batch, songs)
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise oom_error(
                    f"hearing a {len(batch[0].ids)}-token prompt",
                    self.loaded.device,
                    "hear long songs in shorter parts (part_seconds) or use a larger accelerator",
                ) from None
            self._prefixes.clear()
            if self.loaded.device.type == "cuda":
                torch.cuda.empty_cache()
            half = len(batch) // 2
            return self._decode_safely(batch[:half], songs) + self._decode_safely(
                batch[half:], songs
            )

    @torch.inference_mode()
    def _decode(self, batch: list[Job], songs: list[np.ndarray]) -> list[Output]:
        width = max(len(j.ids) for j in batch)
        max_new = max(j.max_new_tokens for j in batch)
        cache = StaticCache(config=self.model.config, max_cache_len=width + max_new)
        cache.early_initialization(
            len(batch), self.kv_heads, self.head_dim, self.loaded.dtype, self.loaded.device
        )
        in_batch = Counter(j.prefix_key for j in batch if j.prefix_key is not None)
        left = in_batch.copy()
        for row, job in enumerate(batch):
            own = self._row_cache(job, songs)
            start = width - len(job.ids)
            # left-pad the row into the static cache (its layers are plain tensors)
            for layer, filled in zip(cache.layers, own.layers, strict=True):
                layer.keys[row, :, start : width - 1] = filled.keys[0]
                layer.values[row, :, start : width - 1] = filled.values[0]
            del own
            key = job.prefix_key
            if key is not None:
                left[key] -= 1
                if not left[key] and self._pending[key] == in_batch[key]:
                    self._prefixes.pop(key, None)  # no other prompt needs it
        for layer in cache.layers:
            layer.cumulative_length.fill_(width - 1)
        ids, mask = self.frontend.collate([j.ids for j in batch])
        watch = _Watch(batch, self._stops())
        with quiet():
            seqs = self.model.generate(
                input_ids=ids.to(self.loaded.device),
                attention_mask=mask.to(self.loaded.device),
                past_key_values=cache,
                generation_config=self._generation_config(max_new),
                logits_processor=LogitsProcessorList([_Sampler(batch, self.loaded.device)]),
                stopping_criteria=StoppingCriteriaList([watch]),
            )
        return [
            self._output(seqs[row, width:].tolist(), job, watch.ended.get(row))
            for row, job in enumerate(batch)
        ]

    def _row_cache(self, job: Job, songs: list[np.ndarray]) -> DynamicCache:
        """Cache of all but the job's last token: the shared audio prefix, then its own text."""
        dev = self.loaded.device
        cache = DynamicCache(config=self.model.config)
        if job.prefix_key is not None:
            prefix = self._prefix_cache(job, songs)
            for i, layer in enumerate(prefix.layers):
                cache.update(layer.keys, layer.values, i)  # a copy: the prefix stays shared
        rest = job.ids[job.prefix : -1]
        if rest:
            self.model(
                input_ids=torch.tensor([rest], device=dev),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        return cache

    def _prefix_cache(self, job: Job, songs: list[np.ndarray]) -> DynamicCache:
        key = job.prefix_key
        if key is None:
            raise ValueError("a text-only job has no audio prefix")
        if key in self._prefixes:
            return self._prefixes[key]
        model, dev = self.model, self.loaded.device
        ids = torch.tensor([job.ids[: job.prefix]], device=dev)
        embeds = model.get_input_embeddings()(ids)
        feats = self.frontend.features(self._samples(job, songs))
        args = [feats.input_features.to(dev, self.loaded.dtype), feats.mask.to(dev)]
        if self.loaded.family.rote:
            args.append(ids)  # RoTE timestamps come from the runs of <sound> tokens
        frames = model.get_audio_features(*args).pooler_output
        embeds[0, ids[0] == self.frontend.audio_token_id] = frames.to(embeds.dtype)
        cache = DynamicCache(config=model.config)
        model(inputs_embeds=embeds, past_key_values=cache, use_cache=True, logits_to_keep=1)
        self._prefixes[key] = cache
        return cache

    def _samples(self, job: Job, songs: list[np.ndarray]) -> np.ndarray:
        sr, span = self.frontend.sr, job.span
        if job.source is None or span is None:
            raise ValueError("a text-only job has no audio")
        return songs[job.source][int(round(span.start * sr)) : int(round(span.end * sr))]

    def _generation_config(self, max_new_tokens: int):  # noqa: ANN202
        gc = copy.deepcopy(self.model.generation_config)
        gc.update(
            do_sample=False,
            num_beams=1,
            temperature=None,
            top_p=None,
            top_k=None,
            max_new_tokens=max_new_tokens,
            max_length=None,
            disable_compile=True,
            pad_token_id=self.frontend.tokenizer.pad_token_id,
        )
        return gc

    def _stops(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        return set(eos if isinstance(eos, list) else [eos]) - {None}

    def _output(self, tokens: list[int], job: Job, ended: int | None = None) -> Output:
        if ended is not None:  # its listener ended it
            return Output(
                self.frontend.tokenizer.decode(tokens[:ended], skip_special_tokens=True),
                ended,
                True,
            )
        stops = self._stops()
        stop = next((i for i, t in enumerate(tokens) if t in stops), None)
        finished = stop is not None and stop < job.max_new_tokens
        kept = tokens[: stop if finished else job.max_new_tokens]
        text = self.frontend.tokenizer.decode(kept, skip_special_tokens=True)
        return Output(text, len(kept), finished)


class _Sampler(LogitsProcessor):
    """Draws the sampling rows' tokens (each with its own generator) and leaves the drawn
    token as the only choice for greedy search; greedy rows pass untouched."""

    def __init__(self, batch: list[Job], device: torch.device):
        self.rows = []
        for row, job in enumerate(batch):
            s = job.sampling
            if s is not None and s.temperature > 0:
                gen = torch.Generator(device=device)
                if s.seed is None:
                    gen.seed()
                else:
                    gen.manual_seed(s.seed)
                self.rows.append((row, s, gen, TopPLogitsWarper(s.top_p)))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, s, gen, top_p in self.rows:
            logits = scores[row : row + 1].float() / s.temperature
            if s.top_p < 1.0:
                logits = top_p(input_ids[row : row + 1], logits)
            drawn = torch.multinomial(logits.softmax(-1)[0], 1, generator=gen)
            scores[row] = -math.inf
            scores[row, drawn] = 0.0
        return scores


class _Watch(StoppingCriteria):
    """Ends each row at its own token budget and hands new tokens to the rows' listeners;
    ``ended`` maps a row its listener stopped to the number of tokens it kept."""

    def __init__(self, batch: list[Job], stops: set[int]):
        self.batch, self.stops = batch, stops
        self.ids: list[list[int]] = [[] for _ in batch]
        self.quiet: set[int] = set()
        self.ended: dict[int, int] = {}

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **_
    ) -> torch.BoolTensor:
        done = torch.zeros(len(self.batch), dtype=torch.bool, device=input_ids.device)
        for row, token in enumerate(input_ids[:, -1].tolist()):
            job = self.batch[row]
            if row not in self.quiet:
                if token in self.stops or len(self.ids[row]) >= job.max_new_tokens:
                    self.quiet.add(row)
                else:
                    self.ids[row].append(token)
                    listener = job.listener
                    if listener is not None:
                        if job.streams:
                            listener.tokens(list(self.ids[row]))
                        if listener.stopped():
                            self.ended[row] = len(self.ids[row])
                            self.quiet.add(row)
            done[row] = row in self.quiet or len(self.ids[row]) >= job.max_new_tokens
        return done
