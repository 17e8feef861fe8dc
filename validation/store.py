"""The run store: every training run is a frozen config, run once, its result kept.

A :class:`RunConfig` names a trainer (``"validation.lsa.train_lsa"``) and its keyword arguments,
and carries the package version. :func:`run` executes a config through the current store: it
returns the result already computed for an equal config (in this process, or in an earlier one
when the store has a folder on disk), and otherwise trains, stores and returns it. Checks and
figures of a paper describe their runs as configs (each paper's ``validation.runs.<paper>``
module), so ``icl-theory reproduce`` trains each distinct config once, and a second
``icl-theory figures`` of the same figure reuses the stored runs.

On disk the store is a ``joblib.Memory`` folder: joblib pickles each result and writes it through
a temporary file and a rename, so a killed command leaves no broken entry, at most the run that
was in progress is lost, and several processes may share one folder. ``use_store(None)`` (the
library default) keeps results in this process only; the command line puts the store under its
output folder (``results/.runs``, or ``--store DIR``), and ``--fresh`` retrains every config once
(overwriting what was stored).

Examples
--------
>>> config = RunConfig.of(dict, x=21)  # any importable function of keyword arguments
>>> config.name
'dict(x=21)'
>>> with use_store(None) as store:
...     run(config), run(config), store.trained, store.reused
({'x': 21}, {'x': 21}, 1, 1)
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from theory.args import ArgumentError, ArgumentKindError
from validation.threads import limit_threads

__all__ = ["RunConfig", "RunStore", "run", "run_many", "use_store", "current_store", "package_version"]

log = logging.getLogger("icl_theory.runs")


def package_version() -> str:
    """The installed version of icl-theory (part of every run's key: a new version retrains)."""
    try:
        return importlib.metadata.version("icl-theory")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0+unknown"


@dataclass(frozen=True)
class RunConfig:
    """One training run: ``trainer`` (a dotted path to a function taking keyword arguments only),
    its arguments as sorted ``(name, value)`` pairs of hashable values, and the package version.

    Two configs are equal exactly when they would train the same model; :attr:`key` is a digest
    of the config's ``repr``, stable across processes and machines.
    """

    trainer: str
    kwargs: tuple[tuple[str, Any], ...]
    version: str = field(default_factory=package_version)

    def __post_init__(self):
        module, _, name = self.trainer.rpartition(".")
        if not module or not name:
            raise ArgumentError(f"trainer must be a dotted path 'package.module.function', got {self.trainer!r}")
        names = [k for k, _ in self.kwargs]
        if names != sorted(set(names)):
            raise ArgumentError(f"kwargs must be sorted (name, value) pairs with distinct names, got {names}")
        try:
            hash(self.kwargs)
        except TypeError as exc:
            raise ArgumentKindError(f"every argument of a run must be hashable (use tuples, not lists): {exc}") from None

    @classmethod
    def of(cls, trainer: Callable, **kwargs) -> "RunConfig":
        """The config of ``trainer(**kwargs)``."""
        return cls(f"{trainer.__module__}.{trainer.__qualname__}", tuple(sorted(kwargs.items())))

    @property
    def function(self) -> Callable:
        module, _, name = self.trainer.rpartition(".")
        return getattr(importlib.import_module(module), name)

    @property
    def key(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:20]

    @property
    def name(self) -> str:
        """A short human-readable name: ``train_lsa(layers=1, steps=1500, ...)``."""
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs)
        return f"{self.trainer.rpartition('.')[2]}({args})"

    def execute(self):
        """Train, bypassing every store."""
        return self.function(**dict(self.kwargs))


def _execute(config: RunConfig):
    # what joblib caches: a module-level function of the config alone
    return config.execute()


class RunStore:
    """Results by config, in memory and (when ``location`` is a folder) on disk.

    ``trained`` and ``reused`` count the configs this store ran and the results it returned
    without training; ``fresh=True`` retrains each config once, whatever the folder holds.
    """

    def __init__(self, location: str | Path | None = None, *, fresh: bool = False):
        self.location = None if location is None else Path(location)
        self.fresh = bool(fresh)
        self.trained = 0
        self.reused = 0
        self._results: dict[RunConfig, Any] = {}
        self._lock = threading.Lock()  # guards _results and the counters (run_many uses threads)
        self._cached = None
        if self.location is not None:
            import joblib

            self.location.mkdir(parents=True, exist_ok=True)
            memory = joblib.Memory(self.location, verbose=0)
            self._cached = memory.cache(_execute)

    def run(self, config: RunConfig):
        """The result of ``config``: stored if it ran before, else trained now and stored."""
        if not isinstance(config, RunConfig):
            raise ArgumentKindError(f"config must be a validation.store.RunConfig, got {type(config).__name__}")
        with self._lock:
            if config in self._results:
                self.reused += 1
                log.info("reused %s", config.name)
                return self._results[config]
        started = time.perf_counter()
        reused = self._cached is not None and not self.fresh and self._cached.check_call_in_cache(config)
        if reused:
            result = self._cached(config)
        else:
            result = self._cached.call(config)[0] if self._cached is not None else _execute(config)
        with self._lock:
            if reused:
                self.reused += 1
            else:
                self.trained += 1
            self._results[config] = result
        if reused:
            log.info("reused %s (from %s)", config.name, self.location)
        else:
            log.info("trained %s in %.1f s", config.name, time.perf_counter() - started)
        return result

    def run_many(self, configs, *, workers: int = 1) -> list:
        """The results of ``configs`` in order; the distinct ones not yet stored run on up to
        ``workers`` threads side by side, each on one torch intra-op thread (torch releases the GIL
        in its kernels)."""
        configs = list(configs)
        distinct = list(dict.fromkeys(configs))
        if workers > 1 and len(distinct) > 1:
            # one torch thread per worker, set before the pool starts (see validation.threads)
            with limit_threads(1), ThreadPoolExecutor(min(workers, len(distinct)), thread_name_prefix="run") as pool:
                results = dict(zip(distinct, pool.map(self.run, distinct)))
        else:
            results = {c: self.run(c) for c in distinct}
        return [results[c] for c in configs]


_CURRENT = [RunStore(None)]


def current_store() -> RunStore:
    """The store that :func:`run` uses now."""
    return _CURRENT[-1]


@contextlib.contextmanager
def use_store(location: str | Path | None = None, *, fresh: bool = False):
    """Run the enclosed code with a store at ``location`` (``None``: this process only)."""
    store = location if isinstance(location, RunStore) else RunStore(location, fresh=fresh)
    _CURRENT.append(store)
    try:
        yield store
    finally:
        _CURRENT.pop()


def run(config: RunConfig):
    """``current_store().run(config)``: the one way checks and figures obtain a trained model."""
    return current_store().run(config)


def run_many(configs, *, workers: int = 1) -> list:
    """``current_store().run_many(configs, workers=workers)``."""
    return current_store().run_many(configs, workers=workers)
