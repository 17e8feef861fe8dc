"""Fixtures shared by the tests: the per-paper quick figures, and an optional run store for the slow tests."""
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
