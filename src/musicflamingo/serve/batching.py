"""Requests that arrive together go through the runtime together.

One worker thread owns the model. It waits for the first queued submission, collects more
for ``window`` seconds (up to ``max_batch`` requests; a submission is never split), and
answers them with one `MusicFlamingo.generate` call, which batches the decoding and gives
every question about the same audio one shared audio prefill (submissions that carry the
same `audio.Audio` object). A submission whose future was cancelled before its batch starts
is dropped; one cancelled while running stops at its next token through its `Follow`.
If a batch fails, each of its submissions is run alone so that one bad request cannot
take down the others.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from musicflamingo.model.decoding import Listener
from musicflamingo.model.report import Answer
from musicflamingo.model.runtime import MusicFlamingo, Request
from musicflamingo.serve import BATCH_WINDOW, MAX_BATCH


class Follow(Listener):
    """One request's side of its decoding: prompt tokens counted, text decoded as it comes
    (cut before the first ``stop`` string, which ends the request), new text handed to
    ``on_text`` (streaming) and a cancel flag the decoder obeys at the next token."""

    def __init__(
        self,
        decode: Callable[[list[int]], str],
        stop: Sequence[str] = (),
        on_text: Callable[[str], None] | None = None,
    ):
        self.decode, self.stop, self.on_text = decode, [s for s in stop if s], on_text
        self.prompt_tokens = 0
        self.cancelled = False
        self.hit_stop = False
        self.sent = ""  # text handed to on_text so far

    def prompt(self, tokens: int) -> None:
        self.prompt_tokens += tokens

    def tokens(self, ids: list[int]) -> None:
        if not (self.stop or self.on_text) or self.hit_stop:
            return
        text = self.cut(self.decode(ids))
        if self.on_text is None:
            return
        if not self.hit_stop:  # hold back what could still become a stop string or a character
            hold = max((len(s) - 1 for s in self.stop), default=0)
            text = text[: len(text) - hold] if hold else text
            text = text.rstrip("\ufffd")
        self.emit(text)

    def cut(self, text: str) -> str:
        """``text`` before the first stop string (and note that one was seen)."""
        found = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if found:
            self.hit_stop = True
            return text[: min(found)]
        return text

    def emit(self, text: str) -> None:
        """Hand ``on_text`` what ``text`` adds to what was sent."""
        if self.on_text is not None and text.startswith(self.sent) and len(text) > len(self.sent):
            self.on_text(text[len(self.sent) :])
            self.sent = text

    def stopped(self) -> bool:
        return self.cancelled or self.hit_stop


@dataclass
class _Submission:
    requests: list[Request]
    future: Future[list[Answer]] = field(default_factory=Future)


@dataclass
class BatchStats:
    """What the worker has done (reported by ``/healthz``)."""

    batches: int = 0
    requests: int = 0
    largest: int = 0
    dropped: int = 0  # cancelled before their batch started
    running: int = 0  # requests in the batch being decoded now
    tokens: int = 0  # new tokens of the answers given (a cancelled one: until it stopped)


class Batcher:
    """The queue in front of one `MusicFlamingo` (see module docstring)."""

    def __init__(
        self, model: MusicFlamingo, max_batch: int = MAX_BATCH, window: float = BATCH_WINDOW
    ):
        self.model, self.max_batch, self.window = model, max(1, max_batch), window
        self.stats = BatchStats()
        self._queue: deque[_Submission] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="mf-batcher", daemon=True)
        self._thread.start()

    def submit(self, requests: Sequence[Request]) -> Future[list[Answer]]:
        """Answers to ``requests`` (in one batch), in order, once they are ready."""
        sub = _Submission(list(requests))
        with self._cv:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._queue.append(sub)
            self._cv.notify()
        return sub.future

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(30)

    def _take(self) -> list[_Submission] | None:
        with self._cv:
            while not self._queue and not self._closed:
                self._cv.wait()
            if self._closed:
                return None
            deadline = time.monotonic() + self.window
            taken = [self._queue.popleft()]
            size = len(taken[0].requests)
            while size < self.max_batch:
                if self._queue:
                    if size + len(self._queue[0].requests) > self.max_batch:
                        break
                    taken.append(self._queue.popleft())
                    size += len(taken[-1].requests)
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
        running = [s for s in taken if s.future.set_running_or_notify_cancel()]
        self.stats.dropped += len(taken) - len(running)
        return running

    def _work(self) -> None:
        while (subs := self._take()) is not None:
            if subs:
                self._run(subs)

    def _run(self, subs: list[_Submission]) -> None:
        requests = [r for s in subs for r in s.requests]
        self.stats.batches += 1
        self.stats.requests += len(requests)
        self.stats.largest = max(self.stats.largest, len(requests))
        self.stats.running = len(requests)
        try:
            answers = self.model.generate(requests, progress=False)
        except Exception as e:  # noqa: BLE001 - isolate the failing request below
            if len(subs) == 1:
                subs[0].future.set_exception(e)
            else:
                for s in subs:
                    self._run_alone(s)
            return
        finally:
            self.stats.running = 0
        self.stats.tokens += sum(a.new_tokens for a in answers)
        for s in subs:
            s.future.set_result(answers[: len(s.requests)])
            answers = answers[len(s.requests) :]

    def _run_alone(self, sub: _Submission) -> None:
        try:
            sub.future.set_result(self.model.generate(sub.requests, progress=False))
        except Exception as e:  # noqa: BLE001 - that request's own error
            sub.future.set_exception(e)
