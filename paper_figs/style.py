"""The project's matplotlib style and the shared conventions of every figure."""
from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["STYLE", "THEORY", "figure_style"]

STYLE = Path(__file__).with_name("icl.mplstyle")
#: keyword arguments for a theory line: dashed, black, drawn on top
THEORY = dict(color="black", linestyle="--", linewidth=1.1, zorder=5)


@contextlib.contextmanager
def figure_style():
    """Use the non-interactive Agg backend and the house style inside the block."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with plt.style.context(str(STYLE)):
        yield plt
