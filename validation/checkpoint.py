"""Checkpoints of long training runs, so that a killed run resumes where it stopped.

The run store (:mod:`validation.store`) gives every run it trains a checkpoint file in its folder,
``<store>/checkpoints/<config key>.pt``, and removes the file once the result is stored. A trainer
loop asks for it with :func:`checkpoint` and, every ``interval`` seconds (default 300,
``ICL_THEORY_CHECKPOINT_SECONDS`` to change it), saves everything its future depends on: the
step, the model's and the optimiser's state, the generators' states and what it has logged so
far. Restarted with the same config, the loop loads that state and goes on from the saved step,
so the run ends with the same numbers as one that was never interrupted (the trainers' tests
check this bit for bit). The file is written to a temporary name and renamed, so a kill during a
save leaves the previous checkpoint intact. Outside a store with a folder (the library default)
:func:`checkpoint` is a no-op that never saves.

A run on a cluster worker logs its checkpoints into the worker's log, which the command's
``icl-theory.log`` never sees; while the command waits for such runs, a :class:`CheckpointWatcher` reads
their files in the store folder and logs each run whose saved step moved (``in progress: NAME at step
4200 of 50000``), as often as checkpoints are saved. Reading is safe while a worker writes (files are
replaced atomically); workers that cannot see the store folder write none, and then nothing is logged.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import torch

__all__ = ["Checkpoint", "CheckpointWatcher", "checkpoint", "checkpointing", "DEFAULT_INTERVAL"]

log = logging.getLogger("icl_theory.runs")

#: seconds between two saves of a running trainer (``ICL_THEORY_CHECKPOINT_SECONDS`` overrides it)
DEFAULT_INTERVAL = 300.0


def _interval_from_env() -> float:
    text = os.environ.get("ICL_THEORY_CHECKPOINT_SECONDS")
    if text is None:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"ICL_THEORY_CHECKPOINT_SECONDS must be a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise ValueError(f"ICL_THEORY_CHECKPOINT_SECONDS must be >= 0, got {text!r}")
    return value


class Checkpoint:
    """One run's checkpoint file (``path``; ``None``: never saves, loads nothing)."""

    def __init__(self, path: str | Path | None = None, *, interval: float | None = None, name: str = ""):
        self.path = None if path is None else Path(path)
        self.interval = _interval_from_env() if interval is None else float(interval)
        self.name = name
        self._last = self._started = time.monotonic()
        #: seconds the run had trained before the checkpoint it resumed from (every attempt's share,
        #: saved with each checkpoint as ``seconds``): what a resumed run's time adds to this attempt's
        self.earlier_seconds = 0.0

    def load(self) -> dict | None:
        """The saved state, or ``None`` when there is none."""
        if self.path is None or not self.path.is_file():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        self.earlier_seconds = float(state.get("seconds", 0.0))
        self._started = time.monotonic()
        log.info("resuming %s from its checkpoint at step %s", self.name or self.path.stem, state.get("step", "?"))
        return state

    def resume(self, **parts) -> dict | None:
        """Load the saved state into ``parts`` and return it (for the step and the logs), or ``None``
        when there is none. Each part is restored by kind: a tensor in place (to its own device and
        dtype), a ``torch.Generator`` by ``set_state``, anything else (module, optimiser, scheduler) by
        ``load_state_dict``; what the caller logged comes back as saved."""
        state = self.load()
        if state is not None:
            for key, target in parts.items():
                value = state[key]
                if isinstance(target, torch.Tensor):
                    with torch.no_grad():
                        target.copy_(value.to(device=target.device, dtype=target.dtype))
                elif isinstance(target, torch.Generator):
                    target.set_state(value)
                else:
                    target.load_state_dict(value)
        return state

    def save_training(self, step: int, **parts) -> None:
        """:meth:`save` of ``step`` and ``parts``, the inverse of :meth:`resume`: a tensor as a CPU
        copy, a generator as its state, a module, optimiser or scheduler as its ``state_dict``, other
        values (logs, counters) as they are."""
        self.save({"step": step, **{key: _saved(value) for key, value in parts.items()}})

    def due(self) -> bool:
        """True when ``interval`` seconds have passed since the last save (never without a file)."""
        return self.path is not None and time.monotonic() - self._last >= self.interval

    def save(self, state: dict) -> None:
        """Write ``state`` atomically (a temporary file, then a rename), with the run's training seconds
        so far (``seconds``: this attempt's and those before it)."""
        if self.path is None:
            return
        state = {**state, "seconds": self.earlier_seconds + time.monotonic() - self._started}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._last = time.monotonic()
        log.info("checkpoint of %s at step %s", self.name or self.path.stem, state.get("step", "?"))

    def clear(self) -> None:
        """Remove the file (the run finished and its result is stored)."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _saved(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, torch.Generator):
        return value.get_state()
    return value.state_dict() if hasattr(value, "state_dict") else value


_CURRENT: contextvars.ContextVar[Checkpoint | None] = contextvars.ContextVar("icl_theory_checkpoint", default=None)


def checkpoint() -> Checkpoint:
    """The checkpoint of the run being trained in this thread (a no-op one outside the store)."""
    return _CURRENT.get() or Checkpoint(None)


@contextlib.contextmanager
def checkpointing(path: str | Path | None, *, interval: float | None = None, name: str = ""):
    """Give the enclosed training (in this thread) the checkpoint file ``path``; on success the file
    is removed, on an exception it stays for the next attempt."""
    ckpt = Checkpoint(path, interval=interval, name=name)
    token = _CURRENT.set(ckpt)
    try:
        yield ckpt
    finally:
        _CURRENT.reset(token)
    ckpt.clear()


class CheckpointWatcher:
    """Log, every ``interval`` seconds (default: the checkpoint interval), each run of ``runs`` (``{checkpoint
    path: (name, total steps or None)}``) whose checkpoint holds a step not logged before; :meth:`done`
    takes a finished run off the list. A context manager: the thread runs inside the ``with`` block."""

    def __init__(self, runs: dict, *, interval: float | None = None):
        self._runs = {Path(path): value for path, value in runs.items()}
        self._seen: dict[Path, object] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.interval = max(_interval_from_env() if interval is None else float(interval), 0.1)
        self._thread = threading.Thread(target=self._watch, name="icl-theory-progress", daemon=True)

    def __enter__(self) -> "CheckpointWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def done(self, path) -> None:
        with self._lock:
            self._runs.pop(Path(path), None)

    def poll(self) -> int:
        """Log the runs whose checkpoint moved since the last poll; returns how many were logged."""
        with self._lock:
            runs = list(self._runs.items())
        logged = 0
        for path, (name, total) in runs:
            try:
                step = torch.load(path, map_location="cpu", weights_only=False).get("step")
            except (OSError, EOFError, RuntimeError):  # no checkpoint yet, or the finished run just removed it
                continue
            if step is None or self._seen.get(path) == step:
                continue
            self._seen[path] = step
            log.info("in progress: %s at step %s%s (its checkpoint)", name, step, "" if total is None else f" of {total}")
            logged += 1
        return logged

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()
