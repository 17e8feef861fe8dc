"""The one rule for random streams: every stream is keyed by the user's seed and a path of integers.

``child_rng(seed, *keys)`` is ``numpy.random.default_rng(SeedSequence([seed, *keys]))``: streams
with different key paths are independent (SeedSequence hashes its whole entropy list), and the
same (seed, keys) gives the same stream on every machine. ``child_seed(seed, *keys)`` is a 63-bit
integer drawn from the same SeedSequence, for libraries that take an integer seed
(``torch.Generator().manual_seed``). Each module that draws several streams from one seed gives
each purpose its own key (a small integer constant named in that module).

Examples
--------
>>> float(child_rng(0, 1).standard_normal()) == float(child_rng(0, 1).standard_normal())
True
>>> child_seed(0, 1) != child_seed(0, 2)
True
"""
from __future__ import annotations

import numpy as np

from theory.args import ArgumentError, ArgumentKindError, integer, seed as check_seed

__all__ = ["child_rng", "child_seed", "make_rng"]


def _sequence(seed, keys) -> np.random.SeedSequence:
    return np.random.SeedSequence([check_seed(seed)] + [integer(k, "key", minimum=0) for k in keys])


def child_rng(seed, *keys) -> np.random.Generator:
    """The numpy stream of ``(seed, *keys)``: ``default_rng(SeedSequence([seed, *keys]))``."""
    return np.random.default_rng(_sequence(seed, keys))


def child_seed(seed, *keys) -> int:
    """A 63-bit integer seed of ``(seed, *keys)`` (two 32-bit words of the same SeedSequence)."""
    state = _sequence(seed, keys).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def make_rng(seed=None, rng=None) -> np.random.Generator:
    """The generator to draw from: ``rng`` if given, else ``default_rng(seed)``."""
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ArgumentKindError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is None:
        raise ArgumentError("seed must be an int (or pass rng=Generator); global randomness is not used")
    return np.random.default_rng(seed)
