"""Torch's intra-op thread count, lowered for a block and restored after it.

``torch.set_num_threads`` is global to the process. Two rules keep it safe and reproducible here:

* A trainer that wants a ceiling (``train_lsa(max_threads=...)``; the causal trainers, which run
  on one thread: their small float32 kernels give bit-identical results on one thread, not always
  on two, and are no faster on two) enters :func:`limit_threads`, which only ever *lowers* the
  count and restores what it found.
* :func:`validation.store.run_many` with several workers lowers the count to one for the whole
  pool before its threads start, so no worker's restore can raise it under another worker.

Examples
--------
>>> import torch
>>> before = torch.get_num_threads()
>>> with limit_threads(1):
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
"""
from __future__ import annotations

import contextlib

import torch

from theory.args import integer

__all__ = ["limit_threads"]


@contextlib.contextmanager
def limit_threads(max_threads: int | None):
    """At most ``max_threads`` torch intra-op threads inside the block (``None``: unchanged)."""
    if max_threads is None:
        yield
        return
    max_threads = integer(max_threads, "max_threads", minimum=1)
    threads = torch.get_num_threads()
    try:
        if max_threads < threads:
            torch.set_num_threads(max_threads)
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
