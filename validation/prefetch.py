"""Training batches drawn ahead in a producer thread, the same stream as drawn in place.

A trainer's step draws a fresh batch from its generator, then computes. On the CPU the draw can run in
a second thread while the step computes (torch releases the GIL in its kernels), which pays where a core
is free: an in-process run on a two-core machine, not two runs on two cores. :func:`prefetched` yields
the n batches of ``draw()`` in order, each with the generator's state right after it was drawn: what a
checkpoint saves, so that a resumed run redraws exactly the batches it had not consumed, not those the
producer had drawn ahead. The producer is the only user of the generator and yields in order, so the
stream is the same with or without prefetching (same seed -> same batches, bit for bit).
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

import torch

__all__ = ["prefetched"]


def prefetched(draw: Callable[[], object], n: int, generator: torch.Generator, enabled: bool, *,
               name: str = "batch-sampler", depth: int = 4) -> Iterator[tuple[object, torch.Tensor]]:
    """Yield ``(draw(), generator state after it)`` n times; with ``enabled``, drawn up to ``depth``
    batches ahead in a thread called ``name``. Close the generator (``contextlib.closing``) to stop the
    producer early: it stops and is joined, also when the consumer raised."""
    if not enabled:
        for _ in range(n):
            item = draw()
            yield item, generator.get_state()
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:  # False once the consumer has stopped
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for _ in range(n):
                if not put((draw(), generator.get_state())):
                    return
        except BaseException as exc:  # forwarded to the consumer (a KeyboardInterrupt included)
            put(exc)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        for _ in range(n):
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
