"""Fixtures shared by the tests: the per-paper quick figures, an optional run store for the slow tests, and
the kill-and-resume harness of the checkpoint tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from paper_figs.registry import figures_of
from validation.store import use_store
from validation.threads import limit_threads

#: the command line's run store; CI runs ``icl-theory reproduce --profile quick`` before pytest, so it
#: is warm there and the figure tests cost seconds
STORE = Path(__file__).resolve().parents[1] / "results" / ".runs"


@pytest.fixture(scope="session", autouse=True)
def _checks_store():
    """With ``ICL_THEORY_TEST_STORE=DIR`` set, every test that trains through the run store without a
    store of its own uses ``DIR``: ``ICL_THEORY_TEST_STORE=results-paper/.runs pytest -m slow`` runs the
    paper-scale tests on the runs a ``reproduce --profile paper`` stored (same config, same result), and
    trains (and stores) only the ones it lacks. Unset (the default), the process's own store is used."""
    location = os.environ.get("ICL_THEORY_TEST_STORE")
    if not location:
        yield None
        return
    with use_store(location) as store:
        yield store


@pytest.fixture
def paper_store(_checks_store):
    """The store a paper-profile (``slow``) test trains through: ``ICL_THEORY_TEST_STORE``'s when set, so the
    test reads the runs a ``reproduce --profile paper`` stored there instead of training hours afresh; else
    ``None``, this process's own store (``use_store(None)``), which trains them."""
    return _checks_store


@pytest.fixture(scope="session")
def draw_quick_figures(tmp_path_factory):
    """``draw(paper, fallback=None) -> (folder, configs)``: every figure of ``paper`` at the quick profile,
    seed 0, drawn once per session into a temporary folder on one torch thread.

    The runs come from ``results/.runs`` when it exists, else from ``fallback`` (a store to share, such
    as the process's own) or a temporary store. ``configs`` are the runs the figures asked for, when
    the store was opened for them alone (``[]`` when they shared ``fallback``).
    """
    drawn: dict = {}

    def draw(paper: str, fallback=None):
        if paper not in drawn:
            out = tmp_path_factory.mktemp(f"{paper}-quick")
            shared = not STORE.is_dir() and fallback is not None
            store = STORE if STORE.is_dir() else fallback if shared else tmp_path_factory.mktemp(f"{paper}-store")
            with limit_threads(1), use_store(store) as used:
                for fn in figures_of(paper).values():
                    fn(profile="quick", out=str(out), seed=0)
            drawn[paper] = (out, [] if shared else used.configs())
        return drawn[paper]

    return draw


@pytest.fixture
def kill_and_resume(monkeypatch, tmp_path):
    """``kill_and_resume(config, module, name, call) -> (whole, resumed)``, with a checkpoint at every
    evaluation (``ICL_THEORY_CHECKPOINT_SECONDS=0``): ``config`` trained once straight through, then
    through a store with ``module.name`` raising KeyboardInterrupt (as a kill would) on its ``call``-th
    call, then again through the same store.

    Asserts that the kill left a checkpoint, that the second attempt really resumed (it calls
    ``module.name`` fewer times than a whole run: equal numbers alone would not tell a resumed run from
    one retrained from scratch) and that the finished run removed the file. ``resume_calls``, when
    given, is the exact number of calls the resumed attempt must make.
    """
    monkeypatch.setenv("ICL_THEORY_CHECKPOINT_SECONDS", "0")

    def kill(config, module, name: str, call: int, *, resume_calls: int | None = None):
        original, calls, kill_at = getattr(module, name), [0], [None]

        def counted(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at[0]:
                raise KeyboardInterrupt
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
        whole = config.execute()
        whole_calls, calls[0], kill_at[0] = calls[0], 0, call
        with use_store(tmp_path / "kill-and-resume") as store:
            with pytest.raises(KeyboardInterrupt):
                store.run(config)
            assert store.checkpoint_path(config).is_file()
            calls[0], kill_at[0] = 0, None
            resumed = store.run(config)
        assert 0 < calls[0] < whole_calls - 1, (calls[0], whole_calls)
        if resume_calls is not None:
            assert calls[0] == resume_calls, (calls[0], resume_calls)
        assert not store.checkpoint_path(config).exists()
        return whole, resumed

    return kill
