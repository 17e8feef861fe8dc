"""The run store: every training run is a frozen config, run once, its result kept.

A :class:`RunConfig` names a trainer (``"validation.lsa.train_lsa"``) and its keyword arguments,
and carries the package version. :func:`run` executes a config through the current store: it
returns the result already computed for an equal config (in this process, or in an earlier one
when the store has a folder on disk), and otherwise trains, stores and returns it. Checks and
figures of a paper describe their runs as configs (each paper's ``validation.runs.<paper>``
module), so ``icl-theory reproduce`` trains each distinct config once, and a second
``icl-theory figures`` of the same figure reuses the stored runs.

A run in progress keeps a checkpoint in ``<folder>/checkpoints/`` (:mod:`validation.checkpoint`), so
a killed command resumes its long runs where they stopped. On disk the store is a ``joblib.Memory`` folder: joblib pickles each result and writes it through
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
from validation.checkpoint import CheckpointWatcher, checkpointing
from validation.threads import limit_threads

__all__ = ["RunConfig", "RunStore", "RunFailed", "run", "run_many", "use_store", "current_store", "use_device",
           "current_device", "package_version"]

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
        """The config of ``trainer(**kwargs)``; inside :func:`use_device` with a device other than
        the CPU, a trainer that takes ``device`` gets it (so a GPU run is a config of its own)."""
        device = current_device()
        if device != "cpu" and "device" not in kwargs and _takes_device(trainer):
            kwargs["device"] = device
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

    @property
    def cost_hint(self) -> float:
        """A rough relative cost (steps x layers x batch, or epochs x samples): the cluster starts
        the costliest runs first, so the longest one does not start last. Only the order changes."""
        kw = dict(self.kwargs)
        steps = kw.get("steps", kw.get("epochs", kw.get("steps1", 1) + kw.get("steps2", 0)))
        size = kw.get("batch", kw.get("m", kw.get("n_sequences", 1)) or 1)
        return float(steps) * float(size) * float(kw.get("layers", 1))

    @property
    def total_steps(self) -> int | None:
        """The run's length as its trainer counts the steps it checkpoints (``steps`` or ``epochs``), or
        ``None`` when the config names neither."""
        kw = dict(self.kwargs)
        return next((kw[k] for k in ("steps", "epochs") if isinstance(kw.get(k), int)), None)

    def execute(self):
        """Train, bypassing every store."""
        return self.function(**dict(self.kwargs))


#: results computed elsewhere (a cluster worker) and handed to joblib to persist: ``_execute``
#: returns them instead of training, so the store writes them through its usual atomic path
_PRECOMPUTED: dict = {}
_PRECOMPUTED_LOCK = threading.Lock()
_MISSING = object()


# joblib compares this function's source text with the copy in each store folder and, on any change (a
# comment inside it included), deletes every result the folder holds: leave its text alone
# (tests/test_store.py pins it).
def _execute(config: RunConfig):
    # what joblib caches: a module-level function of the config alone
    with _PRECOMPUTED_LOCK:
        result = _PRECOMPUTED.pop(config, _MISSING)
    return config.execute() if result is _MISSING else result


def _execute_timed(config: RunConfig, checkpoint_path: str | None = None):
    """What a cluster worker runs: (result, seconds of training, of them before the checkpoint it resumed
    from), with the run's checkpoint file in the store's folder when this worker can write there (a
    shared file system), else without one."""
    if checkpoint_path is not None:
        try:
            Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            checkpoint_path = None
    started = time.perf_counter()
    with checkpointing(checkpoint_path, name=config.name) as ckpt:
        result = config.execute()
    return result, time.perf_counter() - started + ckpt.earlier_seconds, ckpt.earlier_seconds


class RunFailed(RuntimeError):
    """Training runs that raised on a cluster worker, each named with its error."""


class RunStore:
    """Results by config, in memory and (when ``location`` is a folder) on disk.

    ``trained`` and ``reused`` count the configs this store ran and the results it returned
    without training; ``fresh=True`` retrains each config once, whatever the folder holds. When a
    cluster is current (:func:`validation.cluster.use_cluster`), the runs to train go to its
    workers and their results are stored here.
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

    def configs(self) -> list[RunConfig]:
        """The configs this store has returned results for (trained or reused), in order."""
        with self._lock:
            return list(self._results)

    # ------------------------------------------------------------------ lookups and records
    def holds(self, config: RunConfig) -> bool:
        """Whether the result of ``config`` is in this store (in memory or in its folder), without
        loading it or counting it as reused."""
        with self._lock:
            if config in self._results:
                return True
        return self._cached is not None and self._cached.check_call_in_cache(config)

    def _lookup(self, config: RunConfig):
        """The stored result of ``config`` (counted as reused), or ``_MISSING``."""
        if not isinstance(config, RunConfig):
            raise ArgumentKindError(f"config must be a validation.store.RunConfig, got {type(config).__name__}")
        with self._lock:
            if config in self._results:
                self.reused += 1
                log.info("reused %s", config.name)
                return self._results[config]
        if self._cached is None or self.fresh or not self._cached.check_call_in_cache(config):
            return _MISSING
        result = self._cached(config)
        with self._lock:
            self.reused += 1
            self._results[config] = result
        log.info("reused %s (from %s)", config.name, self.location)
        return result

    def _persist(self, config: RunConfig, result=_MISSING):
        """Train ``config`` (or take ``result``, computed elsewhere) and write it to disk if the
        store has a folder."""
        if self._cached is None:
            return _execute(config) if result is _MISSING else result
        if result is not _MISSING:
            with _PRECOMPUTED_LOCK:
                _PRECOMPUTED[config] = result
            try:
                return self._cached.call(config)[0]
            finally:
                with _PRECOMPUTED_LOCK:
                    _PRECOMPUTED.pop(config, None)
        return self._cached.call(config)[0]

    def checkpoint_path(self, config: RunConfig) -> Path | None:
        """Where a run of ``config`` keeps its checkpoint while it trains (``None`` without a folder)."""
        return None if self.location is None else self.location / "checkpoints" / f"{config.key}.pt"

    def _record(self, config: RunConfig, result, seconds: float, where: str = "", earlier: float = 0.0) -> None:
        """Count and log a trained run: ``seconds`` of training in all, ``earlier`` of them before the
        checkpoint it resumed from (an earlier, interrupted attempt)."""
        with self._lock:
            self.trained += 1
            self._results[config] = result
        resumed = f" ({earlier:.1f} s of it before a resume)" if earlier > 0 else ""
        log.info("trained %s in %.1f s%s%s", config.name, seconds, resumed, where)

    # ------------------------------------------------------------------ running
    def run(self, config: RunConfig):
        """The result of ``config``: stored if it ran before, else trained now and stored."""
        result = self._lookup(config)
        if result is not _MISSING:
            return result
        if _client() is not None:
            return self._train_on_cluster([config])[config]
        started = time.perf_counter()
        # trained here: a long trainer saves its state to this file as it goes (validation.checkpoint)
        with checkpointing(self.checkpoint_path(config), name=config.name) as ckpt:
            result = self._persist(config)
        self._record(config, result, time.perf_counter() - started + ckpt.earlier_seconds, earlier=ckpt.earlier_seconds)
        return result

    def run_many(self, configs, *, workers: int = 1) -> list:
        """The results of ``configs`` in order. The distinct ones not yet stored train side by side:
        on the current cluster's workers when there is one, else on up to ``workers`` threads here,
        each on one torch intra-op thread (torch releases the GIL in its kernels)."""
        configs = list(configs)
        results, missing = {}, []
        for config in dict.fromkeys(configs):
            result = self._lookup(config)
            if result is _MISSING:
                missing.append(config)
            else:
                results[config] = result
        if missing and _client() is not None:
            results.update(self._train_on_cluster(missing))
        elif workers > 1 and len(missing) > 1:
            # one torch thread per worker, set before the pool starts (see validation.threads)
            with limit_threads(1), ThreadPoolExecutor(min(workers, len(missing)), thread_name_prefix="run") as pool:
                results.update(zip(missing, pool.map(self.run, missing)))
        else:
            results.update((c, self.run(c)) for c in missing)
        return [results[c] for c in configs]

    def _train_on_cluster(self, configs: list) -> dict:
        """Submit ``configs`` to the current cluster, store each result as it arrives; then raise
        :class:`RunFailed` naming every run that failed. Ctrl-C cancels what is still pending (the
        results already stored stay; nothing partial is written)."""
        from dask.distributed import as_completed

        client = _client()
        futures = {client.submit(_execute_timed, c, None if self.location is None else str(self.checkpoint_path(c)),
                                 key=f"run-{c.key}", pure=False, priority=-rank): c
                   for rank, c in enumerate(sorted(configs, key=lambda c: -c.cost_hint))}
        log.info("submitted %d run(s) to the cluster", len(futures))
        results, failed = {}, []
        watched = {} if self.location is None else {self.checkpoint_path(c): (c.name, c.total_steps) for c in configs}
        try:
            with CheckpointWatcher(watched) as watcher:
                for done, future in enumerate(as_completed(futures), 1):
                    config = futures[future]
                    if self.location is not None:
                        watcher.done(self.checkpoint_path(config))
                    try:
                        result, seconds, earlier = future.result()
                    except Exception as exc:  # noqa: BLE001 - reported by name below, with its error
                        failed.append(f"{config.name}: {type(exc).__name__}: {exc}")
                        log.info("FAILED %s: %s: %s", config.name, type(exc).__name__, exc)
                        continue
                    results[config] = self._persist(config, result)
                    self._record(config, results[config], seconds, f" on a cluster worker ({done} of {len(futures)})",
                                 earlier)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
        if failed:
            raise RunFailed(f"{len(failed)} of {len(configs)} run(s) failed on the cluster:\n" + "\n".join(failed))
        return results


def _client():
    from validation.cluster import current_client

    return current_client()


_CURRENT = [RunStore(None)]
_DEVICES = ["cpu"]


def _takes_device(trainer: Callable) -> bool:
    import inspect

    try:
        params = inspect.signature(trainer).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "device" or p.kind is p.VAR_KEYWORD for p in params)


def current_device() -> str:
    """The device that :meth:`RunConfig.of` gives trainers (``"cpu"`` unless :func:`use_device`)."""
    return _DEVICES[-1]


@contextlib.contextmanager
def use_device(device="cpu"):
    """Train the runs configured inside the block on ``device`` (anything ``torch.device`` accepts;
    CUDA only where it is available). The CPU default leaves every config as it is."""
    from validation.args import device as check_device

    _DEVICES.append(str(check_device(device)))
    try:
        yield _DEVICES[-1]
    finally:
        _DEVICES.pop()


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
